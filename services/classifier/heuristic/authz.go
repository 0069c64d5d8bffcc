package heuristic

import (
	"fmt"
	"strings"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

// RoleBinding mirrors routing.signals.role_bindings[]: when any subject
// matches the caller (kind User: the user id; kind Group: one of the
// caller's groups; names compared exactly), the binding grants Role, and
// the authz signal named Role matches. Decisions refer to the role, not the
// binding name; several bindings may grant the same role.
type RoleBinding struct {
	Name     string
	Role     string
	Subjects []Subject
}

// Subject is one subject of a role binding.
type Subject struct {
	Kind string // User or Group
	Name string
}

type binding struct {
	role   string
	users  []string
	groups []string
}

type authzFamily struct{ bindings []binding }

func compileAuthz(rbs []RoleBinding, errs *errorList) *authzFamily {
	f := &authzFamily{}
	names := make([]string, len(rbs))
	for i, rb := range rbs {
		names[i] = rb.Name
		p := fmt.Sprintf("role_bindings[%d]", i)
		if strings.TrimSpace(rb.Role) == "" {
			errs.add(p+".role", rb.Name, fmt.Errorf("role must not be empty (decisions refer to it as type: authz, name: <role>)"))
		}
		if len(rb.Subjects) == 0 {
			errs.add(p+".subjects", rb.Name, fmt.Errorf("at least one subject (kind User or Group) is required"))
		}
		b := binding{role: rb.Role}
		for j, s := range rb.Subjects {
			sp := fmt.Sprintf("%s.subjects[%d]", p, j)
			name := strings.TrimSpace(s.Name)
			if name == "" {
				errs.add(sp+".name", rb.Name, fmt.Errorf("subject name must not be empty"))
			}
			switch strings.ToLower(strings.TrimSpace(s.Kind)) {
			case "user":
				b.users = append(b.users, name)
			case "group":
				b.groups = append(b.groups, name)
			default:
				errs.add(sp+".kind", rb.Name, fmt.Errorf("unknown subject kind %q (want User or Group)", s.Kind))
			}
		}
		f.bindings = append(f.bindings, b)
	}
	checkNames(errs, "role_bindings", names)
	return f
}

func (f *authzFamily) evaluate(st *evalState) signal.Outcome {
	out := signal.Outcome{Family: signal.Authz}
	req := st.req
	if req.User == "" {
		out.Err = ErrNoIdentity
		return out
	}
	for _, b := range f.bindings {
		if !b.grants(req.User, req.Groups) || hasMatch(out.Matches, b.role) {
			continue
		}
		out.Matches = append(out.Matches, signal.Match{Family: signal.Authz, Name: b.role, Confidence: 1, Value: 1})
	}
	return out
}

func (b *binding) grants(user string, groups []string) bool {
	for _, u := range b.users {
		if u == user {
			return true
		}
	}
	for _, g := range b.groups {
		for _, ug := range groups {
			if g == ug {
				return true
			}
		}
	}
	return false
}

func hasMatch(ms []signal.Match, name string) bool {
	for _, m := range ms {
		if m.Name == name {
			return true
		}
	}
	return false
}
