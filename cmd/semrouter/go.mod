module github.com/semrouter/semrouter/cmd/semrouter

go 1.26.0

replace github.com/semrouter/semrouter/gen => ../../gen

replace github.com/semrouter/semrouter/pkg => ../../pkg

replace github.com/semrouter/semrouter/services/gateway-extproc => ../../services/gateway-extproc

replace github.com/semrouter/semrouter/services/classifier => ../../services/classifier

replace github.com/semrouter/semrouter/services/embedder-gpu => ../../services/embedder-gpu

replace github.com/semrouter/semrouter/services/cache => ../../services/cache

replace github.com/semrouter/semrouter/services/config-hub => ../../services/config-hub

require github.com/semrouter/semrouter/pkg v0.0.0-00010101000000-000000000000

require gopkg.in/yaml.v3 v3.0.1 // indirect
