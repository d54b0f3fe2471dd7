import RMBCLI

RMBCommand.runMain()
