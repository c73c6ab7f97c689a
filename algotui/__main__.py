from algotui.cli import main

main()
