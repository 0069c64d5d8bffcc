package hftokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
)

type postJSON struct {
	Type   string `json:"type"`
	Single []struct {
		SpecialToken *struct {
			ID string `json:"id"`
		} `json:"SpecialToken"`
		Sequence *struct {
			ID string `json:"id"`
		} `json:"Sequence"`
	} `json:"single"`
	SpecialTokens map[string]struct {
		IDs []int32 `json:"ids"`
	} `json:"special_tokens"`
	CLS        json.RawMessage   `json:"cls"`
	SEP        json.RawMessage   `json:"sep"`
	Processors []json.RawMessage `json:"processors"`
}

// parsePostProcessor returns the special ids a post-processor puts before
// and after a single sequence.
func parsePostProcessor(p *problems, path string, raw json.RawMessage) (head, tail []int32) {
	var c postJSON
	if err := json.Unmarshal(raw, &c); err != nil {
		p.add(path, err)
		return nil, nil
	}
	switch c.Type {
	case "TemplateProcessing":
		seen := false
		for i, piece := range c.Single {
			switch {
			case piece.Sequence != nil:
				if seen || piece.Sequence.ID != "A" {
					p.add(fmt.Sprintf("%s.single[%d]", path, i), fmt.Errorf("want exactly one sequence A in a single template: %w", ErrUnsupported))
				}
				seen = true
			case piece.SpecialToken != nil:
				tok, ok := c.SpecialTokens[piece.SpecialToken.ID]
				if !ok || len(tok.IDs) == 0 {
					p.add(fmt.Sprintf("%s.single[%d]", path, i), fmt.Errorf("special token %q has no ids in special_tokens", piece.SpecialToken.ID))
					continue
				}
				if seen {
					tail = append(tail, tok.IDs...)
				} else {
					head = append(head, tok.IDs...)
				}
			default:
				p.add(fmt.Sprintf("%s.single[%d]", path, i), errors.New("want SpecialToken or Sequence"))
			}
		}
		if !seen {
			p.add(path+".single", errors.New("no Sequence in the template"))
		}
		return head, tail
	case "BertProcessing", "RobertaProcessing":
		cls := specialPair(p, path+".cls", c.CLS)
		sep := specialPair(p, path+".sep", c.SEP)
		return []int32{cls}, []int32{sep}
	case "ByteLevel":
		return nil, nil
	case "Sequence":
		for i, sub := range c.Processors {
			h, t := parsePostProcessor(p, fmt.Sprintf("%s.processors[%d]", path, i), sub)
			head = append(append([]int32(nil), h...), head...)
			tail = append(tail, t...)
		}
		return head, tail
	case "":
		p.add(path+".type", errors.New("missing"))
	default:
		p.unsupported(path+".type", fmt.Sprintf("%q", c.Type))
	}
	return nil, nil
}

// specialPair reads ["[CLS]", 101] and returns the id.
func specialPair(p *problems, path string, raw json.RawMessage) int32 {
	var pair []json.RawMessage
	var id int32
	if isNull(raw) {
		p.add(path, errors.New("missing"))
		return 0
	}
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 || json.Unmarshal(pair[1], &id) != nil {
		p.add(path, errors.New("want [token, id]"))
	}
	return id
}
