module github.com/semrouter/semrouter/tests/integration

go 1.26.0

replace github.com/semrouter/semrouter/gen => ../../gen

replace github.com/semrouter/semrouter/pkg => ../../pkg

replace github.com/semrouter/semrouter/services/gateway-extproc => ../../services/gateway-extproc

replace github.com/semrouter/semrouter/services/classifier => ../../services/classifier

replace github.com/semrouter/semrouter/services/embedder-gpu => ../../services/embedder-gpu

replace github.com/semrouter/semrouter/services/cache => ../../services/cache

replace github.com/semrouter/semrouter/services/config-hub => ../../services/config-hub

replace github.com/semrouter/semrouter/cmd/semrouter => ../../cmd/semrouter

require (
	github.com/nats-io/nats.go v1.55.0
	github.com/openai/openai-go/v3 v3.95.0
	github.com/semrouter/semrouter/pkg v0.0.0-00010101000000-000000000000
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/antithesishq/antithesis-sdk-go v0.8.0-default-no-op // indirect
	github.com/coder/websocket v1.8.15 // indirect
	github.com/google/go-tpm v0.9.8 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/minio/highwayhash v1.0.4 // indirect
	github.com/nats-io/jwt/v2 v2.8.2 // indirect
	github.com/nats-io/nats-server/v2 v2.15.2
	github.com/nats-io/nkeys v0.4.16 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	github.com/tidwall/gjson v1.20.0 // indirect
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.2.1 // indirect
	github.com/tidwall/sjson v1.2.5 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/time v0.16.0 // indirect
)
