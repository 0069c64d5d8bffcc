package config

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
)

// usable reports what a document lacks to route anything: at least one
// model to send traffic to, and a decision or a default model that picks
// it. Listeners are not required (behind Envoy the router has none). Parse
// runs it on documents that are not another layout.
func usable(c *Config) Problems {
	var probs Problems
	line := func(path string) int {
		if l := c.Line(path); l > 0 {
			return l
		}
		return 1
	}
	if len(c.Providers.Models) == 0 {
		probs = append(probs, Problem{Severity: SeverityError, Path: "providers.models", Line: line("providers.models"),
			Message: "at least one model is required: without one the router has nowhere to send requests"})
	}
	if c.Providers.Defaults.DefaultModel == "" && !hasDecision(c) {
		probs = append(probs, Problem{Severity: SeverityError, Path: "routing.decisions", Line: line("routing.decisions"),
			Message: "at least one decision (routing.decisions) or a default model (providers.defaults.default_model) is required: without either no request can be routed"})
	}
	return probs
}

func emptyProblem() Problem {
	return Problem{Severity: SeverityError, Line: 1, Message: "the document is empty; a config needs at least version: " +
		CanonicalVersion + ", providers.models and routing.decisions (or providers.defaults.default_model)"}
}

func hasDecision(c *Config) bool {
	if len(c.Routing.Decisions) > 0 {
		return true
	}
	for _, r := range c.Recipes {
		if len(r.Routing.Decisions) > 0 {
			return true
		}
	}
	return false
}

// yamlLine finds the "line N: " that gopkg.in/yaml.v3 puts in its syntax
// errors.
var yamlLine = regexp.MustCompile(`^line (\d+): `)

// syntaxProblem turns a YAML syntax error into a problem carrying the
// parser's message and line (0 when the parser gave none). The parser does
// not report a column.
func syntaxProblem(err error) Problem {
	msg := err.Error()
	for {
		u := errors.Unwrap(err)
		if u == nil {
			break
		}
		err, msg = u, u.Error()
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	return Problem{Severity: SeverityError, Line: line, Message: "YAML syntax error: " + msg}
}
