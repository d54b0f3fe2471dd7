import RMBPeer

await PeerCommand.runMain()
