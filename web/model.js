// What the page runs, apart from what it shows: onnxruntime-web, the model files' sessions, pixels to tensors and
// back, and a painting's statistics for the model of any painting. The convention comes from exports/models.json
// (`fst-export --index`): float32 NCHW RGB in [0, 1], height and width multiples of side_multiple, other sizes
// padded by reflection on the right and bottom and the output cropped back.
import * as ort from "./vendor/onnxruntime-web/ort.wasm.min.mjs";

export { ort };

ort.env.wasm.wasmPaths = new URL("./vendor/onnxruntime-web/", import.meta.url).href;
// Threads need SharedArrayBuffer, which browsers give only to cross-origin isolated pages (fst-serve).
ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(navigator.hardwareConcurrency || 1, 8) : 1;

// Models and photos load from the server that serves this page only: a link to this page that named another host
// in ?models= would otherwise run that host's models on this device.
export function sameOrigin(url, base = location.href) {
  const resolved = new URL(url, base);
  if (resolved.origin !== location.origin) {
    throw new Error(`${resolved.href}: models and photos load from this page's own server only`);
  }
  return resolved;
}

const sessions = new Map();  // model URL -> a promise of its session (each file is read and compiled once)

export function sessionFor(url) {
  if (!sessions.has(url)) {
    const created = ort.InferenceSession.create(url, { executionProviders: ["wasm"] });
    created.catch(() => sessions.delete(url));  // a failed load is tried again next time
    sessions.set(url, created);
  }
  return sessions.get(url);
}

const reflect = (i, n) => (i < n ? i : 2 * (n - 1) - i);

// RGBA pixels -> the model's input: float32 NCHW in [0, 1], sides padded to multiples of `multiple`. Rows and
// columns inside the picture are copied straight; only the padding reflects.
export function toTensor(pixels, width, height, multiple) {
  const pw = Math.ceil(width / multiple) * multiple, ph = Math.ceil(height / multiple) * multiple;
  const plane = ph * pw, data = new Float32Array(3 * plane);
  for (let y = 0; y < ph; y++) {
    const row = reflect(y, height) * width;
    for (let x = 0; x < pw; x++) {
      const src = 4 * (row + (x < width ? x : reflect(x, width))), dst = y * pw + x;
      data[dst] = pixels[src] / 255;
      data[plane + dst] = pixels[src + 1] / 255;
      data[2 * plane + dst] = pixels[src + 2] / 255;
    }
  }
  return new ort.Tensor("float32", data, [1, 3, ph, pw]);
}

// A (1, 3, H, W) tensor's top-left width x height, as a tensor of its own (itself where nothing is cut).
export function cropped(tensor, width, height) {
  const [, , ph, pw] = tensor.dims;
  if (ph === height && pw === width) return tensor;
  const data = new Float32Array(3 * width * height);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      data.set(tensor.data.subarray((c * ph + y) * pw, (c * ph + y) * pw + width), (c * height + y) * width);
    }
  }
  return new ort.Tensor("float32", data, [1, 3, height, width]);
}

// The model's output, cropped to width x height, as RGBA pixels blended with the photo (into `rgba`, an ImageData
// of that size, reused from frame to frame), and as float32 RGB planes where `planes` is asked for (tests).
export function fromTensor(output, pixels, width, height, strength, rgba, planes = false) {
  const [, , ph, pw] = output.dims;
  const out = output.data, plane = ph * pw, copy = planes ? new Float32Array(3 * width * height) : null;
  const target = rgba.data, keep = 255 * (1 - strength) / 255, scale = 255 * strength;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x, src = y * pw + x;
      const r = out[src], g = out[plane + src], b = out[2 * plane + src];
      target[4 * i] = scale * r + keep * pixels[4 * i];
      target[4 * i + 1] = scale * g + keep * pixels[4 * i + 1];
      target[4 * i + 2] = scale * b + keep * pixels[4 * i + 2];
      target[4 * i + 3] = 255;
      if (copy) {
        copy[i] = r;
        copy[width * height + i] = g;
        copy[2 * width * height + i] = b;
      }
    }
  }
  return copy;
}

// The model of any painting takes the painting's feature statistics at each level as inputs (fst.arbitrary); its
// graph computes them from the image it is given (outputs painting_mean_L, painting_colouring_L), so the painting
// goes through it once, at PAINTING_SIDE on its long side as in Python, and its statistics are fed with each photo.
export const PAINTING_SIDE = 512;
const CHANNELS = { relu1_1: 64, relu2_1: 128, relu3_1: 256, relu4_1: 512 };

// fst.arbitrary.texture, MIN_TEXTURE and TEXTURE_LEVEL: the channels' variances over their squared means, one
// position in from the edges; under MIN_TEXTURE (flat colours, smooth gradients) the model paints only a blur of the
// painting's colour.
const MIN_TEXTURE = 0.6, TEXTURE_LEVEL = "relu4_1";

function texture(features) {
  const [, channels, height, width] = features.dims;
  let variance = 0, squaredMean = 0;
  for (let c = 0; c < channels; c++) {
    let sum = 0, squares = 0;
    for (let y = 1; y < height - 1; y++) {
      for (let x = 1; x < width - 1; x++) {
        const value = features.data[(c * height + y) * width + x];
        sum += value;
        squares += value * value;
      }
    }
    const count = (height - 2) * (width - 2), mean = sum / count;
    variance += squares / count - mean * mean;
    squaredMean += mean * mean;
  }
  return variance / Math.max(squaredMean, 1e-12);
}

// The statistics to feed with each photo for the painting whose RGBA `pixels` (width x height) are given, named
// `name` in errors; refused, saying why, where the painting has too little texture to paint with.
export async function paintingFeeds(session, inputName, pixels, width, height, name) {
  const feeds = { [inputName]: toTensor(pixels, width, height, 1) };
  const statistics = session.inputNames.filter((input) => input !== inputName && input !== "strength");
  for (const input of statistics) {
    const channels = CHANNELS[input.slice(input.indexOf("_") + 1)];
    const shape = input.startsWith("mean_") ? [channels] : [channels, channels];
    feeds[input] = new ort.Tensor("float32", new Float32Array(shape.reduce((a, b) => a * b)), shape);
  }
  feeds.strength = new ort.Tensor("float32", new Float32Array(1), [1]);
  const checked = feeds[`mean_${TEXTURE_LEVEL}`] ? [`features_${TEXTURE_LEVEL}`] : [];
  const outputs = await session.run(feeds, [...statistics.map((input) => `painting_${input}`), ...checked]);
  const measured = checked.length ? texture(outputs[checked[0]]) : Infinity;
  if (measured < MIN_TEXTURE) {
    throw new Error(`${name} has almost no texture (${measured.toFixed(2)}, under ${MIN_TEXTURE}): a flat colour or ` +
      "a smooth gradient would paint only a blur of its colour; choose a painting with visible strokes or shapes");
  }
  return Object.fromEntries(statistics.map((input) => [input, outputs[`painting_${input}`]]));
}
