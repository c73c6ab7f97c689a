"""The app's screens besides the main one: help, the trades view and a trade's detail."""
