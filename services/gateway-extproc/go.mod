module github.com/semrouter/semrouter/services/gateway-extproc

go 1.26
replace github.com/semrouter/semrouter/gen => ../../gen
replace github.com/semrouter/semrouter/pkg => ../../pkg
replace github.com/semrouter/semrouter/services/classifier => ../../services/classifier
replace github.com/semrouter/semrouter/services/embedder-gpu => ../../services/embedder-gpu
replace github.com/semrouter/semrouter/services/cache => ../../services/cache
