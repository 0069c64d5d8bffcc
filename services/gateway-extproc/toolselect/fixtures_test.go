package toolselect

import "fmt"

// sampleTools are request tools of an agent with eight functions.
func sampleTools() []Tool {
	defs := [][2]string{
		{"get_weather", "Get the current weather for a location"},
		{"search_web", "Search the web and return the top results"},
		{"send_email", "Send an email to a recipient with a subject and body"},
		{"exec_cmd", "Execute a shell command on the server"},
		{"create_calendar_event", "Create an event in the user's calendar"},
		{"translate_text", "Translate text from one language to another"},
		{"read_file", "Read a file from the workspace"},
		{"stock_price", "Look up the latest price of a stock ticker"},
	}
	out := make([]Tool, len(defs))
	for i, d := range defs {
		out[i] = Tool{Name: d[0], Description: d[1],
			Raw: []byte(fmt.Sprintf(`{"type":"function","function":{"name":%q,"description":%q,"parameters":{"type":"object","properties":{}}}}`, d[0], d[1]))}
	}
	return out
}
