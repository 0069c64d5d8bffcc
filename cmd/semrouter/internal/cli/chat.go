package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"
)

func chatCommand() *Command {
	c := &Command{
		Name:    "chat",
		Summary: "send one chat request to a running router and print the answer and its routing",
		Usage:   "--prompt TEXT [--model auto] [--url http://127.0.0.1:8801] [--stream] [--debug]",
	}
	c.Run = func(ctx context.Context, env *Env, args []string) error {
		fs := newFlagSet(c)
		prompt := fs.String("prompt", "", "the user message")
		model := fs.String("model", "auto", "the model to ask for (auto routes)")
		system := fs.String("system", "", "an optional system message")
		url := fs.String("url", "http://127.0.0.1:8801", "the router's OpenAI-compatible API")
		stream := fs.Bool("stream", false, "stream the answer (SSE)")
		debug := fs.Bool("debug", false, "ask for the matched-signal headers (x-vsr-debug)")
		timeout := fs.Duration("timeout", 2*time.Minute, "request timeout")
		pos, err := parseFlags(env, c, fs, args, "Sends one chat completion to a running router (make run, semrouter serve)\nand prints the answer followed by the x-vsr-* routing headers: the\ndecision, the model, reasoning, cache hits.")
		if err != nil {
			return err
		}
		if *prompt == "" && len(pos) > 0 {
			*prompt = strings.Join(pos, " ")
		} else if len(pos) > 0 {
			return usageErrorf("chat takes the prompt either as --prompt or as arguments, not both")
		}
		if *prompt == "" {
			return usageErrorf("chat needs --prompt TEXT")
		}
		msgs := []map[string]string{}
		if *system != "" {
			msgs = append(msgs, map[string]string{"role": "system", "content": *system})
		}
		msgs = append(msgs, map[string]string{"role": "user", "content": *prompt})
		body, _ := json.Marshal(map[string]any{"model": *model, "messages": msgs, "stream": *stream})
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(*url, "/")+"/v1/chat/completions", bytes.NewReader(body))
		if err != nil {
			return usageErrorf("chat: %v", err)
		}
		req.Header.Set("Content-Type", "application/json")
		if *debug {
			req.Header.Set("x-vsr-debug", "true")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("send the request: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			printRouting(env.Stderr, resp)
			return fmt.Errorf("the router answered %s: %s", resp.Status, strings.TrimSpace(string(data)))
		}
		if *stream {
			if err := printStream(env.Stdout, resp.Body); err != nil {
				return err
			}
		} else {
			var out struct {
				Choices []struct {
					Message struct {
						Content string `json:"content"`
					} `json:"message"`
				} `json:"choices"`
				Usage struct {
					PromptTokens     int `json:"prompt_tokens"`
					CompletionTokens int `json:"completion_tokens"`
				} `json:"usage"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				return fmt.Errorf("decode the answer: %w", err)
			}
			if len(out.Choices) > 0 {
				fmt.Fprintln(env.Stdout, out.Choices[0].Message.Content)
			}
			fmt.Fprintf(env.Stdout, "\n[usage: %d prompt + %d completion tokens]\n", out.Usage.PromptTokens, out.Usage.CompletionTokens)
		}
		printRouting(env.Stdout, resp)
		return nil
	}
	return c
}

// printStream prints the content deltas of an SSE chat stream. An error
// event (the router's answer to a stream cut mid-way) and a stream that
// ends without its "[DONE]" line are returned as errors.
func printStream(w io.Writer, r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	done := false
	for sc.Scan() {
		line := sc.Text()
		data, ok := strings.CutPrefix(line, "data:")
		if !ok {
			continue
		}
		data = strings.TrimSpace(data)
		if data == "[DONE]" {
			done = true
			break
		}
		var chunk struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
			Error *struct {
				Message string `json:"message"`
				Code    any    `json:"code"`
			} `json:"error"`
		}
		if json.Unmarshal([]byte(data), &chunk) != nil {
			continue
		}
		if chunk.Error != nil {
			fmt.Fprintln(w)
			return fmt.Errorf("the stream ended with an error: %s (code %v)", chunk.Error.Message, chunk.Error.Code)
		}
		if len(chunk.Choices) > 0 {
			fmt.Fprint(w, chunk.Choices[0].Delta.Content)
		}
	}
	fmt.Fprintln(w)
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read the stream: %w", err)
	}
	if !done {
		return errors.New("the stream ended without its [DONE] line: the answer may be cut")
	}
	return nil
}

// printRouting prints the x-vsr-* and x-selected-model headers, sorted.
func printRouting(w io.Writer, resp *http.Response) {
	var names []string
	for k := range resp.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-vsr-") || lk == "x-selected-model" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return
	}
	fmt.Fprintln(w, "routing:")
	for _, k := range names {
		fmt.Fprintf(w, "  %s: %s\n", strings.ToLower(k), strings.Join(resp.Header.Values(k), ", "))
	}
}
