// Reference HuggingFace tokenizer: reads {"tokenizer": path, "texts": [...],
// "add_special_tokens": bool} on stdin and prints the ids that
// @huggingface/tokenizers (tokenizers.js) assigns to each text.
const fs = require("fs");
const { Tokenizer } = require("@huggingface/tokenizers");

const input = JSON.parse(fs.readFileSync(0, "utf-8"));
const tokenizer = new Tokenizer(JSON.parse(fs.readFileSync(input.tokenizer, "utf-8")), {});
const ids = input.texts.map((t) => tokenizer.encode(t, { add_special_tokens: input.add_special_tokens }).ids);
process.stdout.write(JSON.stringify(ids));
