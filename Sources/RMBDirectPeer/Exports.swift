// `import RMBDirectPeer` brings the call and serve API (RMBCaller, RMBRouter, RMBCallError …)
// too: an app that calls and serves in process imports nothing else of RMB.
@_exported import RMBCalls
