import RMBRelay

await RelayCommand.runMain()
