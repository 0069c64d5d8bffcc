// Reference HuggingFace tokenizer: reads {"tokenizer": path, "texts": [...],
// "add_special_tokens": bool, "config": {...}} on stdin and prints the ids that
// @huggingface/tokenizers (tokenizers.js) assigns to each text. "config" is the
// library's second constructor argument (tokenizer_config.json keys such as
// unk_token, which its model for WordLevel vocabularies reads); default {}.
const fs = require("fs");
const { Tokenizer } = require("@huggingface/tokenizers");

const input = JSON.parse(fs.readFileSync(0, "utf-8"));
const tokenizer = new Tokenizer(JSON.parse(fs.readFileSync(input.tokenizer, "utf-8")), input.config ?? {});
const ids = input.texts.map((t) => tokenizer.encode(t, { add_special_tokens: input.add_special_tokens }).ids);
process.stdout.write(JSON.stringify(ids));
