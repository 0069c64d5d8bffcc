package embedding

// ModelUSELiteInt8 is use-lite with its MatMuls quantised to dynamic int8
// (tools/models/quantize_int8.py, built by scripts/setup-models.sh).
const ModelUSELiteInt8 = "use-lite-int8"
