package config

import (
	"fmt"
	"reflect"
	"strings"
)

// validateHeaderSafety refuses values that would break the HTTP headers
// they travel in: names become x-vsr-* response header values and
// x-selected-model (so a name with CR or LF could split a header), and
// header names and values the router sends upstream (header_mutation,
// backend_refs auth and extra_headers) must be a valid field name and a
// value without control characters.
func (v *validator) validateHeaderSafety() {
	v.headerSafe(reflect.ValueOf(v.cfg).Elem(), "")
}

var (
	backendRefType  = reflect.TypeFor[BackendRef]()
	headerValueType = reflect.TypeFor[HeaderValue]()
	headerMutType   = reflect.TypeFor[HeaderMutationPlugin]()
	authzIDType     = reflect.TypeFor[AuthzIdentity]()
)

func (v *validator) headerSafe(rv reflect.Value, path string) {
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !rv.IsNil() {
			v.headerSafe(rv.Elem(), path)
		}
	case reflect.Slice:
		for i := 0; i < rv.Len(); i++ {
			v.headerSafe(rv.Index(i), joinIndex(path, i))
		}
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return
		}
		iter := rv.MapRange()
		for iter.Next() {
			v.headerSafe(iter.Value(), joinKey(path, iter.Key().String()))
		}
	case reflect.Struct:
		switch rv.Type() {
		case backendRefType:
			b := rv.Addr().Interface().(*BackendRef)
			v.checkHeaderName(sub(path, "auth_header"), b.AuthHeader)
			v.checkHeaderValue(sub(path, "auth_prefix"), b.AuthPrefix)
			v.checkHeaderValue(sub(path, "api_key"), b.APIKey)
			for _, k := range keys(b.ExtraHeaders) {
				v.checkHeaderName(joinKey(sub(path, "extra_headers"), k), k)
				v.checkHeaderValue(joinKey(sub(path, "extra_headers"), k), b.ExtraHeaders[k])
			}
		case headerValueType:
			h := rv.Addr().Interface().(*HeaderValue)
			v.checkHeaderName(sub(path, "name"), h.Name)
			v.checkHeaderValue(sub(path, "value"), h.Value)
			return
		case authzIDType:
			// Removed from untrusted requests by name (TrustedHeaders).
			id := rv.Addr().Interface().(*AuthzIdentity)
			v.checkHeaderName(sub(path, "user_id_header"), id.UserIDHeader)
			v.checkHeaderName(sub(path, "user_groups_header"), id.UserGroupsHeader)
			return
		case headerMutType:
			for i, n := range rv.Addr().Interface().(*HeaderMutationPlugin).Delete {
				v.checkHeaderName(joinIndex(sub(path, "delete"), i), n)
			}
		}
		si, ok := v.infos[rv.Type()]
		if !ok {
			si = typeInfo(rv.Type())
			v.infos[rv.Type()] = si
		}
		for _, f := range si.fields {
			fv := rv.Field(f.index)
			p := path
			if !f.inline {
				p = sub(path, f.name)
			}
			if f.name == "name" && fv.Kind() == reflect.String {
				v.checkHeaderValue(p, fv.String())
				continue
			}
			switch fv.Kind() {
			case reflect.Struct, reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map:
				v.headerSafe(fv, p)
			}
		}
	}
}

// checkHeaderValue refuses control characters other than tab.
func (v *validator) checkHeaderValue(path, s string) {
	for _, r := range s {
		if (r < 0x20 && r != '\t') || r == 0x7f {
			v.errorf(path, "contains the control character %s; it would break the HTTP header it is sent in", quoteRune(r))
			return
		}
	}
}

// checkHeaderName refuses a header name that is not an HTTP token
// (RFC 9110: letters, digits and !#$%&'*+-.^_`|~).
func (v *validator) checkHeaderName(path, s string) {
	for _, r := range s {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			continue
		}
		v.errorf(path, "%q is not a valid HTTP header name (character %s)", s, quoteRune(r))
		return
	}
}

func quoteRune(r rune) string { return fmt.Sprintf("%q", r) }
