module github.com/semrouter/semrouter/services/cache

go 1.26
replace github.com/semrouter/semrouter/gen => ../../gen
replace github.com/semrouter/semrouter/pkg => ../../pkg
