package resource

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Decode validates a PUT/PATCH body against the resource description and
// returns the typed values the client sent. The rules come from the
// document: the body is a JSON object (never an array), partial bodies are
// fine, null resets a field to its default, integer fields accept integer
// strings ("order": "100"), and a repeated key is tolerated with the last
// one winning (the HydraAccount example repeats "note"). An empty body is an
// empty object, which is what "PUT …/number/{pool guid}" sends.
func Decode(r *Resource, body []byte) (Input, error) {
	body = bytes.TrimSpace(body)
	in := Input{}
	if len(body) == 0 {
		return in, nil
	}
	if body[0] != '{' {
		return nil, invalid("the body must be a JSON object")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, invalid("malformed JSON: %s", jsonErrorText(err))
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "_links" { // read-only HAL links, echoed back by clients that PUT what they GOT
			continue
		}
		f := r.Field(k)
		if f == nil {
			return nil, invalid("unknown field %q", k)
		}
		if f.ReadOnly && f.Name != "guid" {
			return nil, invalid("field %q is read-only", k)
		}
		v, form, err := f.decodeValue(raw[k])
		if err != nil {
			return nil, err
		}
		in[f.Name] = v
		if form != nil {
			p := in.Parsed()
			if p == nil {
				p = Parsed{}
				in[parsedKey] = p
			}
			p[f.Name] = Form{Text: v.(string), Value: form}
		}
	}
	return in, nil
}

// decodeValue converts one JSON value to the field's Go type and runs the
// field's own checks; form is the value's parsed form (Field.Parse), nil
// when the field has no grammar or the value is empty.
func (f *Field) decodeValue(raw json.RawMessage) (v, form any, err error) {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		if f.Required {
			return nil, nil, invalid("field %q is required: it cannot be reset with null", f.Name)
		}
		return f.DefaultOf(), nil, nil
	}
	switch f.Type {
	case String:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, nil, invalid("field %q must be a string", f.Name)
		}
		v = s
	case Integer:
		n, err := parseInteger(raw)
		if err != nil {
			return nil, nil, invalid("field %q must be an integer", f.Name)
		}
		v = n
	case Boolean:
		b, err := parseBoolean(raw)
		if err != nil {
			return nil, nil, invalid("field %q must be a boolean", f.Name)
		}
		v = b
	}
	return f.checkValue(v)
}

// CheckValue applies the field's rules (range, Check, Enum) to a value
// already of its type (a string, int64 or bool): what DecodeValue does
// after decoding, for a reader that decoded the value itself (the
// import, which would otherwise encode each value again to check it).
func (f *Field) CheckValue(v any) (any, error) {
	v, _, err := f.checkValue(v)
	return v, err
}

// checkValue is CheckValue that also returns the value's parsed form
// when the field has a grammar (Field.Parse).
func (f *Field) checkValue(v any) (out, form any, err error) {
	if n, ok := v.(int64); ok && f.Max > f.Min && (n < f.Min || n > f.Max) {
		return nil, nil, invalid("field %q must be between %d and %d, not %d", f.Name, f.Min, f.Max, n)
	}
	switch s, isText := v.(string); {
	case f.Parse != nil && isText:
		if v, form, err = f.Parse(s); err != nil {
			return nil, nil, err
		}
	case f.Check != nil:
		if v, err = f.Check(v); err != nil {
			return nil, nil, err
		}
	}
	if s, ok := v.(string); ok && len(f.Enum) > 0 && !slices.Contains(f.Enum, s) {
		return nil, nil, invalid("%s must be %s, not %q", f.Name, strings.Join(f.Enum, " or "), s)
	}
	return v, form, nil
}

// parseInteger accepts a JSON integer or a string holding one.
func parseInteger(raw json.RawMessage) (int64, error) {
	text := string(raw)
	if len(raw) > 0 && raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return 0, err
		}
		text = strings.TrimSpace(text)
	}
	return strconv.ParseInt(text, 10, 64)
}

// parseBoolean accepts true/false, 0/1 (the document sends "private":1)
// and the same as strings.
func parseBoolean(raw json.RawMessage) (bool, error) {
	text := string(raw)
	if len(raw) > 0 && raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return false, err
		}
	}
	switch strings.ToLower(strings.TrimSpace(text)) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, errors.New("not a boolean")
}

// jsonErrorText turns encoding/json's errors into a short, client-facing
// text with the byte offset where that helps.
func jsonErrorText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Error() + " at offset " + strconv.FormatInt(se.Offset, 10)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "the body must be a JSON object"
	}
	return err.Error()
}

// DecodeValue checks one JSON value against the field as a PUT would
// (type, range, the field's check, its enum) and returns the typed value.
// Importers use it so that nothing can be stored that the API refuses.
func (f *Field) DecodeValue(raw json.RawMessage) (any, error) {
	v, _, err := f.decodeValue(raw)
	return v, err
}
