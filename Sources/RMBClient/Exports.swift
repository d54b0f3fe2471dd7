// `import RMBClient` brings the call and serve API (RMBCaller, RMBRouter, RMBCallError …) too.
@_exported import RMBCalls
