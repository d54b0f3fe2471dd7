import RMBCLI

await RMBCommand.runMain()
