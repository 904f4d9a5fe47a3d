// Stylize a PNG with an exported fst model in Node.js:
//
//   cd web/node && ONNXRUNTIME_NODE_INSTALL=skip npm install   # the flag skips a download of GPU libraries
//   node stylize.mjs ../../exports/starry_night.onnx photo.png photo_starry.png
//
// The model takes `image`, float32 NCHW RGB in [0, 1], with height and width multiples of 4; other sizes are
// padded by reflection on the right and bottom here and the output is cropped back (exports/models.json).
import { readFileSync, writeFileSync } from "node:fs";
import ort from "onnxruntime-node";
import { PNG } from "pngjs";

const [modelPath, inputPath, outputPath] = process.argv.slice(2);
if (!outputPath) {
  console.error("usage: node stylize.mjs MODEL.onnx INPUT.png OUTPUT.png");
  process.exit(2);
}

const MULTIPLE = 4;
const reflect = (i, n) => (i < n ? i : 2 * (n - 1) - i);

const photo = PNG.sync.read(readFileSync(inputPath));
const { width, height } = photo;
const pw = Math.ceil(width / MULTIPLE) * MULTIPLE, ph = Math.ceil(height / MULTIPLE) * MULTIPLE;
const input = new Float32Array(3 * ph * pw);
for (let y = 0; y < ph; y++) {
  for (let x = 0; x < pw; x++) {
    const src = 4 * (reflect(y, height) * width + reflect(x, width));
    for (let c = 0; c < 3; c++) input[c * ph * pw + y * pw + x] = photo.data[src + c] / 255;
  }
}

const session = await ort.InferenceSession.create(modelPath);
const start = performance.now();
const { stylized } = await session.run({ image: new ort.Tensor("float32", input, [1, 3, ph, pw]) });
const ms = performance.now() - start;

const out = new PNG({ width, height });
for (let y = 0; y < height; y++) {
  for (let x = 0; x < width; x++) {
    const i = 4 * (y * width + x);
    for (let c = 0; c < 3; c++) {
      const value = Math.round(255 * stylized.data[c * ph * pw + y * pw + x]);
      out.data[i + c] = Math.min(255, Math.max(0, value));
    }
    out.data[i + 3] = 255;
  }
}
writeFileSync(outputPath, PNG.sync.write(out));
console.log(`wrote ${outputPath} (${width}x${height} in ${ms.toFixed(0)} ms)`);
