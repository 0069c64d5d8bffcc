module github.com/semrouter/semrouter/services/gateway-extproc

go 1.26.0

replace github.com/semrouter/semrouter/gen => ../../gen

replace github.com/semrouter/semrouter/pkg => ../../pkg

replace github.com/semrouter/semrouter/services/classifier => ../../services/classifier

replace github.com/semrouter/semrouter/services/embedder-gpu => ../../services/embedder-gpu

replace github.com/semrouter/semrouter/services/cache => ../../services/cache

require (
	github.com/envoyproxy/go-control-plane/envoy v1.40.0
	github.com/openai/openai-go/v3 v3.95.0
	github.com/tidwall/gjson v1.20.0
	github.com/tidwall/sjson v1.2.5
	google.golang.org/grpc v1.85.0
)

require (
	github.com/cncf/xds/go v0.0.0-20260202195803-dba9d589def2 // indirect
	github.com/coder/websocket v1.8.15 // indirect
	github.com/envoyproxy/protoc-gen-validate v1.3.3 // indirect
	github.com/planetscale/vtprotobuf v0.6.1-0.20240319094008-0393e58bdf10 // indirect
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.2.1 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	google.golang.org/genproto v0.0.0-20260817212433-ac3dfec99bb1 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
