// The browser demo: a photo or webcam frame -> an fst network (onnxruntime-web) -> a canvas, all on this device.
// The models and their input/output convention come from exports/models.json (`python -m fst.export --index`):
// float32 NCHW RGB in [0, 1], height and width multiples of side_multiple, other sizes padded by reflection on
// the right and bottom and the output cropped back.
import * as ort from "./node_modules/onnxruntime-web/dist/ort.all.min.mjs";

const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);

// Models and test photos load from the server that serves this page only: a link to this page that named another
// host in ?models= would otherwise run that host's models on this device.
function sameOrigin(url, base = location.href) {
  const resolved = new URL(url, base);
  if (resolved.origin !== location.origin) {
    throw new Error(`${resolved.href}: models and photos load from this page's own server only`);
  }
  return resolved;
}
let modelsUrl;        // where models.json and the models are (?models=, default ../exports/)

ort.env.wasm.wasmPaths = new URL("./node_modules/onnxruntime-web/dist/", import.meta.url).href;
// Threads need SharedArrayBuffer, which browsers give only to cross-origin isolated pages (python -m fst.serve).
ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(navigator.hardwareConcurrency || 1, 8) : 1;

let index;            // models.json
let photo = null;     // the current still image (an <img>), or null while the webcam runs
let painting = null;  // for the model of any painting (kind "arbitrary"): {name, feeds} of the painting given
let video = null;     // the webcam's <video> while it runs
const sessions = new Map();  // model file -> {session, backend}

function setStatus(text, error = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
}

async function preferredBackends() {
  const forced = params.get("ep");
  if (forced) return [forced];
  if (navigator.gpu) {
    try {
      if (await navigator.gpu.requestAdapter()) return ["webgpu", "wasm"];
    } catch { /* no usable adapter: wasm */ }
  }
  return ["wasm"];
}

async function sessionFor(file) {
  if (!sessions.has(file)) {
    const url = sameOrigin(file, modelsUrl).href;
    let lastError;
    for (const backend of await preferredBackends()) {
      try {
        const session = await ort.InferenceSession.create(url, { executionProviders: [backend] });
        sessions.set(file, { session, backend });
        break;
      } catch (e) {
        lastError = e;
      }
    }
    if (!sessions.has(file)) throw lastError;
  }
  return sessions.get(file);
}

// A model of several styles takes a weight per style (input `style`, in the order of its `styles`): one slider each.
function showBlend(model) {
  const blend = $("blend");
  blend.replaceChildren();
  blend.hidden = !model.styles;
  for (const [i, name] of (model.styles || []).entries()) {
    const label = document.createElement("label"), slider = document.createElement("input");
    Object.assign(slider, { type: "range", min: 0, max: 1, step: 0.05, value: i === 0 ? 1 : 0, id: `blend-${i}` });
    slider.onchange = refresh;
    label.append(name, slider);
    blend.append(label);
  }
}

// The sliders' weights scaled to sum to 1 (the first style alone when all are at 0), as fst.blend does.
function styleWeights(model) {
  const weights = model.styles.map((_, i) => Number($(`blend-${i}`).value));
  const total = weights.reduce((a, b) => a + b, 0);
  return Float32Array.from(weights, (w, i) => (total > 0 ? w / total : Number(i === 0)));
}

const reflect = (i, n) => (i < n ? i : 2 * (n - 1) - i);

// RGBA pixels -> the model's input: float32 NCHW in [0, 1], sides padded to multiples of `multiple`.
function toTensor(pixels, width, height, multiple) {
  const pw = Math.ceil(width / multiple) * multiple, ph = Math.ceil(height / multiple) * multiple;
  const data = new Float32Array(3 * ph * pw);
  for (let y = 0; y < ph; y++) {
    const row = reflect(y, height) * width;
    for (let x = 0; x < pw; x++) {
      const src = 4 * (row + reflect(x, width)), dst = y * pw + x;
      for (let c = 0; c < 3; c++) data[c * ph * pw + dst] = pixels[src + c] / 255;
    }
  }
  return new ort.Tensor("float32", data, [1, 3, ph, pw]);
}

// The model's output, cropped to width x height, as float32 RGB planes and as RGBA pixels blended with the photo.
function fromTensor(output, pixels, width, height, strength) {
  const [, , ph, pw] = output.dims;
  const out = output.data, planes = new Float32Array(3 * width * height);
  const rgba = new ImageData(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      for (let c = 0; c < 3; c++) {
        const value = out[c * ph * pw + y * pw + x];
        planes[c * width * height + i] = value;
        rgba.data[4 * i + c] = 255 * (strength * value + (1 - strength) * pixels[4 * i + c] / 255);
      }
      rgba.data[4 * i + 3] = 255;
    }
  }
  return { planes, rgba };
}

// The model of any painting takes the painting's feature statistics at each level as inputs (fst.arbitrary); its
// graph computes them from the image it is given (outputs painting_mean_L, painting_colouring_L), so the painting
// goes through it once, at PAINTING_SIDE on its long side as in Python, and its statistics are fed with each photo.
const PAINTING_SIDE = 512;
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

async function usePainting(image, name) {
  const model = index.models.find((m) => m.kind === "arbitrary");
  if (!model) throw new Error("no model of any painting in models.json (exports/arbitrary.onnx)");
  const scale = PAINTING_SIDE / Math.max(image.naturalWidth, image.naturalHeight);
  const width = Math.max(32, Math.round(image.naturalWidth * scale));
  const height = Math.max(32, Math.round(image.naturalHeight * scale));
  const canvas = $("painting-canvas");
  Object.assign(canvas, { width, height });
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(image, 0, 0, width, height);
  const { session } = await sessionFor(model.file);
  const feeds = { [index.io.input]: toTensor(context.getImageData(0, 0, width, height).data, width, height, 1) };
  const statistics = session.inputNames.filter((name) => name !== index.io.input && name !== "strength");
  for (const name of statistics) {
    const channels = CHANNELS[name.slice(name.indexOf("_") + 1)];
    const shape = name.startsWith("mean_") ? [channels] : [channels, channels];
    feeds[name] = new ort.Tensor("float32", new Float32Array(shape.reduce((a, b) => a * b)), shape);
  }
  feeds.strength = new ort.Tensor("float32", new Float32Array(1), [1]);
  const checked = feeds[`mean_${TEXTURE_LEVEL}`] ? [`features_${TEXTURE_LEVEL}`] : [];
  const outputs = await session.run(feeds, [...statistics.map((name) => `painting_${name}`), ...checked]);
  const measured = checked.length ? texture(outputs[checked[0]]) : Infinity;
  if (measured < MIN_TEXTURE) {
    throw new Error(`${name} has almost no texture (${measured.toFixed(2)}, under ${MIN_TEXTURE}): a flat colour or ` +
      "a smooth gradient would paint only a blur of its colour; choose a painting with visible strokes or shapes");
  }
  painting = { name, feeds: Object.fromEntries(statistics.map((n) => [n, outputs[`painting_${n}`]])) };
  $("painting-caption").textContent = `painting: ${name}`;
}

// Draws `source` into the input canvas with its long side at most `longSide` (0: as it is), then stylizes it.
async function stylize(source, sourceWidth, sourceHeight, longSide) {
  const scale = longSide ? Math.min(1, longSide / Math.max(sourceWidth, sourceHeight)) : 1;
  const width = Math.max(8, Math.round(sourceWidth * scale)), height = Math.max(8, Math.round(sourceHeight * scale));
  const input = $("input"), output = $("output");
  input.width = output.width = width;
  input.height = output.height = height;
  const context = input.getContext("2d", { willReadFrequently: true });
  context.drawImage(source, 0, 0, width, height);
  const pixels = context.getImageData(0, 0, width, height).data;
  const model = index.models.find((m) => m.file === $("style").value);
  const { session, backend } = await sessionFor(model.file);
  const start = performance.now();
  const feeds = { [index.io.input]: toTensor(pixels, width, height, index.io.side_multiple) };
  if (model.styles) feeds.style = new ort.Tensor("float32", styleWeights(model), [model.styles.length]);
  let strength = Number($("strength").value);
  if (model.kind === "arbitrary") {  // the strength blends features inside the model, not pixels
    if (!painting) throw new Error("choose a painting, or drop one on the painting box");
    Object.assign(feeds, painting.feeds, { strength: new ort.Tensor("float32", Float32Array.of(strength), [1]) });
    strength = 1;
  }
  const result = (await session.run(feeds, [index.io.output]))[index.io.output];
  const ms = performance.now() - start;
  const { planes, rgba } = fromTensor(result, pixels, width, height, strength);
  output.getContext("2d").putImageData(rgba, 0, 0);
  const threads = backend === "wasm" ? `, ${ort.env.wasm.numThreads} thread(s)` : "";
  const style = model.kind === "arbitrary" ? painting.name : model.style;
  $("output-caption").textContent = `${style}: ${width}x${height} in ${ms.toFixed(0)} ms (${backend}${threads})`;
  return { planes, rgba, ms, backend, width, height };
}

async function refresh() {
  if (!photo) return;  // the webcam loop picks up changes itself
  setStatus("stylizing…");
  try {
    await stylize(photo, photo.naturalWidth, photo.naturalHeight, Number($("size").value));
    setStatus("done: change the style, strength or photo to run again");
  } catch (e) {
    setStatus(`could not stylize: ${e.message || e}`, true);
  }
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error(`cannot read the image ${url}`));
    image.src = url;
  });
}

// The webcam: each frame stylized as soon as the last is done, so the picture is the camera's newest frame (no
// queue builds up); the caption shows frames per second, a moving average over the last frames.
async function webcamLoop() {
  let last = null, interval = null;
  while (video) {
    if (video.readyState >= 2) {
      await stylize(video, video.videoWidth, video.videoHeight, Number($("size").value));
      const now = performance.now();
      if (last !== null) interval = interval === null ? now - last : 0.9 * interval + 0.1 * (now - last);
      last = now;
      if (interval) $("output-caption").textContent += `, ${(1000 / interval).toFixed(1)} frames/s`;
    } else {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function toggleWebcam() {
  if (video) {
    video.srcObject.getTracks().forEach((track) => track.stop());
    video = null;
    $("webcam").textContent = "Use the webcam";
    return;
  }
  try {
    video = document.createElement("video");
    video.muted = true;
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: true });
    await video.play();
  } catch (e) {
    video = null;
    setStatus(`no webcam: ${e.message || e}`, true);
    return;
  }
  photo = null;
  $("webcam").textContent = "Stop the webcam";
  setStatus("webcam: stylizing frame after frame");
  webcamLoop().catch((e) => setStatus(`could not stylize: ${e.message || e}`, true));
}

function toBase64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

// ?test=PHOTO[&style=FILE]: stylize PHOTO at its own size `runs` times with FILE (default: the page's own choice)
// and POST the output to the serving test.
async function runTest() {
  const image = await loadImage(sameOrigin(params.get("test")).href);
  if (params.get("style")) $("style").value = params.get("style");
  const model = index.models.find((m) => m.file === $("style").value);
  showBlend(model);
  if (params.get("painting")) await usePainting(await loadImage(sameOrigin(params.get("painting")).href), "painting");
  for (const item of (params.get("blend") || "").split(",").filter(Boolean)) {  // NAME=WEIGHT,...
    const [name, weight] = item.split("=");
    for (const [i, other] of model.styles.entries()) if (other === name) $(`blend-${i}`).value = Number(weight);
  }
  const times = [];
  let last;
  for (let run = 0; run < Number(params.get("runs") || 3); run++) {
    last = await stylize(image, image.naturalWidth, image.naturalHeight, 0);
    times.push(last.ms);
  }
  return {
    style: $("style").value, width: last.width, height: last.height, backend: last.backend,
    threads: ort.env.wasm.numThreads,
    isolated: self.crossOriginIsolated, times,
    output: toBase64(new Uint8Array(last.planes.buffer)), canvas: toBase64(new Uint8Array(last.rgba.data.buffer)),
  };
}

async function main() {
  modelsUrl = sameOrigin(params.get("models") || "../exports/");
  const response = await fetch(new URL("models.json", modelsUrl));
  if (!response.ok) throw new Error(`${response.url}: ${response.status}; run python -m fst.export --index exports`);
  index = await response.json();
  for (const model of index.models) {
    const variant = model.variant === "stable" && model.architecture === "realtime" ? "fast, stable" : model.variant;
    const kind = model.styles ? `${model.styles.length} styles, ` : variant !== "full" ? `${variant}, ` : "";
    const label = model.kind === "arbitrary" ? "any painting (choose one)" : `${model.style} (${kind}${model.precision})`;
    $("style").add(new Option(label, model.file));
  }
  // By default a realtime network (fst.transformer), the stable one where shipped (its strokes hold still from
  // frame to frame, docs/video.md), else the fast variant, in int8 where shipped: the networks that keep up with a
  // webcam on a CPU.
  const fast = (test) => index.models.find((m) => m.variant === "fast" && test(m));
  const stable = index.models.find((m) => m.variant === "stable" && m.architecture === "realtime");
  const preferred = stable || fast((m) => m.architecture === "realtime") || fast((m) => m.precision === "int8") ||
    fast(() => true);
  $("style").value = (preferred || index.models[0]).file;
  const chosen = () => index.models.find((m) => m.file === $("style").value);
  const showPainting = () => {
    $("painting-control").hidden = $("painting-figure").hidden = chosen().kind !== "arbitrary";
  };
  showBlend(chosen());
  showPainting();
  if (params.has("test")) {
    let result;
    try {
      result = await runTest();
    } catch (e) {
      result = { error: String(e.message || e) };
    }
    await fetch("/fst-test/result", { method: "POST", body: JSON.stringify(result) });
    return;
  }
  $("photo").onchange = async () => {
    const file = $("photo").files[0];
    if (!file) return;
    if (video) await toggleWebcam();
    photo = await loadImage(URL.createObjectURL(file));
    refresh();
  };
  $("webcam").onclick = toggleWebcam;
  $("strength").oninput = () => { $("strength-value").textContent = $("strength").value; };
  for (const id of ["strength", "size"]) $(id).onchange = refresh;
  $("style").onchange = () => { showBlend(chosen()); showPainting(); refresh(); };
  const paintingFrom = async (file) => {
    if (!file) return;
    try {
      setStatus("reading the painting…");
      await usePainting(await loadImage(URL.createObjectURL(file)), file.name);
      refresh();
    } catch (e) {
      setStatus(`could not use the painting: ${e.message || e}`, true);
    }
  };
  $("painting").onchange = () => paintingFrom($("painting").files[0]);
  const figure = $("painting-figure");
  figure.ondragover = (event) => event.preventDefault();
  figure.ondrop = (event) => { event.preventDefault(); paintingFrom(event.dataTransfer.files[0]); };
  photo = await loadImage(new URL("chelsea.jpg", location.href).href);  // served with the page (data/CREDITS.md)
  await refresh();
}

main().catch(async (e) => {
  setStatus(String(e.message || e), true);
  if (params.has("test")) await fetch("/fst-test/result", { method: "POST", body: JSON.stringify({ error: String(e.message || e) }) });
});
