// The playground: what the proxy sees of one photo, drawn from its public endpoints.
//
// Everything shown comes from URLs anyone could call: `/<key>` (the original), `?facedetect...`
// (the faces, as JSON), `?facedetect/crop/WxH` (the window facecrop2 cuts and why),
// `?facecrop2/WxH` (the crop), any Qiniu pipeline, and `POST /v1/face/detect` for a photo of the
// user's own. Only /playground/setup.json is the page's own: the folder's image names and whether
// the detect API takes an upload.
//
// Rules kept throughout: text goes into the page with textContent or attributes, never as HTML
// (keys, errors and JSON come from outside); every fetch of a view can be aborted, so a slow
// answer for the previous photo never draws over the current one.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";

// The crops shown side by side; the last one's size comes from the form.
const TARGETS = [
  { id: "avatar", title: "Square avatar", short: "1:1", width: 200, height: 200, color: "#2563eb" },
  { id: "card", title: "16:9 card", short: "16:9", width: 320, height: 180, color: "#d97706" },
  { id: "story", title: "9:16 story", short: "9:16", width: 180, height: 320, color: "#0d9488" },
  { id: "custom", title: "Custom", short: "custom", width: 300, height: 200, color: "#9333ea" },
];

const EXAMPLES = [
  "imageView2/1/w/200/h/200",
  "imageView2/2/w/400/format/webp/q/70",
  "facecrop2/400x400|imageView2/2/w/200/format/webp",
  "imageMogr2/thumbnail/!50p/rotate/90",
  "imageMogr2/blur/20x8",
  "imageView2/1/w/320/h/180/gravity/face",
  "faceblur/20",
  "facemosaic/12|imageView2/2/w/300",
  "imageView2/2/w/100|imageInfo",
  "imageAve",
];

// The subject's right and left (MediaPipe names them as the subject has them), as draw.py colours them.
const KEYPOINT_GROUPS = [
  { className: "kp-right", names: ["right_eye", "right_ear_tragion"] },
  { className: "kp-left", names: ["left_eye", "left_ear_tragion"] },
  { className: "kp-centre", names: ["nose_tip", "mouth_center"] },
];

const $ = (id) => document.getElementById(id);

const state = {
  setup: null, // /playground/setup.json
  key: null, // the bucket key shown, or null for an uploaded photo
  file: null, // the uploaded photo
  detection: null, // the facedetect JSON drawn on the photo
  windows: new Map(), // target id -> the facedetect/crop answer's `crop`
  photoLoaded: false,
};

// ---------------------------------------------------------------------------------------------
// URLs

/** The download path of a key: each segment percent-encoded on its own, as the proxy decodes it. */
function keyPath(key) {
  return "/" + key.split("/").map(encodeURIComponent).join("/");
}

/** A pipeline as a query: percent-encoded, but with the characters ops are made of left readable. */
function encodePipeline(text) {
  return encodeURIComponent(text).replace(/%(2F|7C|21|3A|2C|3D|40)/gi, (escaped) => decodeURIComponent(escaped));
}

function downloadUrl(key, pipeline) {
  return keyPath(key) + (pipeline ? "?" + encodePipeline(pipeline) : "");
}

function absolute(url) {
  return new URL(url, location.origin).href;
}

/** The options facecrop2 and facedetect/crop share, in the order the README writes them. */
function cropOptions() {
  const pad = Number($("pad").value);
  const fallback = $("fallback").value;
  let options = "";
  if (Number.isFinite(pad) && pad !== 1 && $("pad").value.trim() !== "") options += "/pad/" + $("pad").value.trim();
  if (fallback) options += "/fallback/" + fallback;
  return options;
}

function detectOptions() {
  let options = "";
  if ($("show-mesh").checked) options += "/landmarks/1";
  if ($("show-pose").checked) options += "/attributes/1";
  return options;
}

// ---------------------------------------------------------------------------------------------
// Fetching: every answer is either what was asked for or a ProxyError with the proxy's own message.

class ProxyError extends Error {
  constructor(status, message, requestId) {
    super(message);
    this.status = status;
    this.requestId = requestId || "";
  }

  describe() {
    return this.status ? `${this.status}: ${this.message}` : this.message;
  }
}

/** The error an answer carries: the proxy's JSON `{"error": ...}`, or its status line. */
async function errorOf(response) {
  const text = await response.text();
  try {
    const body = JSON.parse(text);
    if (body && typeof body.error === "string") return new ProxyError(response.status, body.error, body.request_id);
  } catch (_) {
    // not JSON: the status says enough
  }
  return new ProxyError(response.status, response.statusText || "request failed");
}

async function fetchChecked(url, init) {
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ProxyError(0, "the proxy did not answer: " + error.message);
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

async function getJson(url, signal) {
  return (await fetchChecked(url, { signal })).json();
}

/** An answer of any type, read whole: `{blob, type, json}` (json only for a JSON answer). */
async function getAnswer(url, signal) {
  const response = await fetchChecked(url, { signal });
  const blob = await response.blob();
  const type = (response.headers.get("content-type") || "").split(";")[0];
  const json = type === "application/json" ? JSON.parse(await blob.text()) : null;
  return { blob, type, json };
}

// One AbortController per slot ("faces", "crop:avatar", "pipeline"...): starting a slot's work
// aborts what it was still doing.
const running = new Map();

function begin(slot) {
  running.get(slot)?.abort();
  const controller = new AbortController();
  running.set(slot, controller);
  return controller.signal;
}

function isAbort(error) {
  return error && error.name === "AbortError";
}

// blob: URLs of answers shown, revoked when replaced so their bytes can go.
const objectUrls = new Map();

function showBlob(slot, img, blob) {
  const url = URL.createObjectURL(blob);
  if (objectUrls.has(slot)) URL.revokeObjectURL(objectUrls.get(slot));
  objectUrls.set(slot, url);
  img.src = url;
}

/** Resolves once `img` has decoded what it was given (or fails to). */
function loaded(img) {
  return new Promise((resolve, reject) => {
    if (img.complete && img.naturalWidth) return resolve();
    img.addEventListener("load", () => resolve(), { once: true });
    img.addEventListener("error", () => reject(new ProxyError(0, "the browser cannot show this image")), { once: true });
  });
}

// ---------------------------------------------------------------------------------------------
// Small DOM helpers

function el(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

/** An error as the proxy said it; its request id (which finds it in the proxy's log) on a line of its own. */
function showError(node, error) {
  node.textContent = error instanceof ProxyError ? error.describe() : String(error.message || error);
  if (error.requestId) node.append(el("small", { class: "request-id" }, `request ${error.requestId}`));
  node.hidden = false;
}

function setStatus(text) {
  $("status").textContent = text;
}

function formatBytes(n) {
  if (n < 1024) return `${n} bytes`;
  const size = n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${n.toLocaleString("en")} bytes (${size})`;
}

/** A URL as a link: the path and query as text (what matters, and it wraps), the whole URL as href. */
function showUrl(link, url) {
  link.href = absolute(url);
  link.textContent = url;
}

function round(n, digits = 1) {
  return Number(n).toFixed(digits);
}

// ---------------------------------------------------------------------------------------------
// Opening a photo: a key of the bucket, or a file of the user's

async function openKey(key) {
  key = key.trim().replace(/^\/+/, "");
  if (!key) return;
  state.key = key;
  state.file = null;
  $("key-input").value = key;
  remember();
  markGallery();
  setSourceMode(true);
  showPhoto(keyPath(key), key);
  // The three views load side by side; each shows its own errors.
  await Promise.all([detectFaces(), loadCrops(), runPipeline()]);
}

async function openFile(file) {
  const upload = state.setup && state.setup.upload;
  if (!upload || !upload.available || !file) return;
  if (file.size > upload.max_bytes) {
    showError($("photo-error"), new ProxyError(0, `${file.name} is ${formatBytes(file.size)}, over the limit of ${formatBytes(upload.max_bytes)}`));
    return;
  }
  state.key = null;
  state.file = file;
  remember();
  markGallery();
  setSourceMode(false);
  const url = URL.createObjectURL(file);
  if (objectUrls.has("photo")) URL.revokeObjectURL(objectUrls.get("photo"));
  objectUrls.set("photo", url);
  showPhoto(url, file.name);
  await detectFaces();
}

/** Crops and pipelines need a key (they are URLs); an uploaded photo has faces only. */
function setSourceMode(hasKey, note = "Crops and pipelines are URLs of an image in the bucket: open a key to see them. Your photo went to the detect API only.") {
  for (const [noteId, formId] of [["crops-note", "crop-form"], ["pipeline-note", "pipeline-form"]]) {
    $(noteId).textContent = hasKey ? "" : note;
    $(noteId).hidden = hasKey;
    for (const control of $(formId).elements) control.disabled = !hasKey;
  }
  $("crop-grid").hidden = !hasKey;
  $("pipeline-result").hidden = !hasKey;
  state.windows.clear();
}

/** Keeps the key (and a changed pipeline) in the address, so a view can be shared as a link. */
function remember() {
  const params = new URLSearchParams();
  if (state.key) params.set("key", state.key);
  const pipeline = $("pipeline-input").value.trim();
  if (state.key && pipeline !== $("pipeline-input").defaultValue) params.set("pipeline", pipeline);
  const query = params.toString();
  history.replaceState(null, "", location.pathname + (query ? "?" + query : ""));
}

function showPhoto(src, name) {
  state.detection = null;
  state.photoLoaded = false;
  const stage = $("stage");
  stage.dataset.state = "loading";
  stage.hidden = false;
  $("photo-error").hidden = true;
  $("overlay").replaceChildren();
  $("tags").replaceChildren();
  $("face-list").replaceChildren();
  const photo = $("photo");
  photo.alt = name;
  photo.dataset.fallback = "";
  photo.src = src;
  $("photo-caption").textContent = name;
}

// A browser cannot show every format the proxy reads (TIFF, for one): then show the proxy's own PNG
// of it, which has the same oriented pixels the boxes are measured in.
function onPhotoError() {
  const photo = $("photo");
  if (state.key && !photo.dataset.fallback) {
    photo.dataset.fallback = "png";
    photo.src = downloadUrl(state.key, "imageMogr2/format/png");
    return;
  }
  $("stage").hidden = true;
}

function onPhotoLoad() {
  state.photoLoaded = true;
  drawOverlay();
}

// ---------------------------------------------------------------------------------------------
// Faces

async function detectFaces() {
  const signal = begin("faces");
  const name = state.key || (state.file && state.file.name);
  setStatus(`Looking for faces in ${name}…`);
  try {
    const detection = state.key ? await getJson(downloadUrl(state.key, "facedetect" + detectOptions()), signal) : await postDetect(signal);
    state.detection = detection;
    showDetection(detection);
    drawOverlay();
    const count = detection.faces.length;
    const found = count === 0 ? "No face" : count === 1 ? "1 face" : `${count} faces`;
    setStatus(`${found} in ${name} (${detection.width} × ${detection.height} px).`);
  } catch (error) {
    if (isAbort(error)) return;
    showError($("photo-error"), error);
    setStatus("");
    if (error.status === 404 || error.status === 415) $("stage").hidden = true;
  }
}

/** The native detect API with the same options as the op (multipart, as curl -F sends it). */
async function postDetect(signal) {
  const form = new FormData();
  form.append("image", state.file, state.file.name);
  if ($("show-mesh").checked) form.append("landmarks", "1");
  if ($("show-pose").checked) form.append("attributes", "1");
  const detection = await (await fetchChecked("/v1/face/detect", { method: "POST", body: form, signal })).json();
  showRequest("POST /v1/face/detect", null);
  return detection;
}

function showDetection(detection) {
  if (state.key) {
    const url = downloadUrl(state.key, "facedetect" + detectOptions());
    showRequest(absolute(url), url);
  }
  $("detect-json").textContent = JSON.stringify(detection, null, 1);
  const list = $("face-list");
  list.replaceChildren();
  if (!detection.faces.length) {
    list.append(el("li", { class: "none" }, "No face found (facedetect keeps detections scoring 0.6 and up)."));
  }
  detection.faces.forEach((face, i) => list.append(faceItem(face, i)));
}

function showRequest(text, href) {
  const link = $("detect-link");
  link.textContent = text;
  if (href) link.href = href;
  else link.removeAttribute("href");
}

/** One face in words: the drawing's text equivalent, and the numbers behind it. */
function faceItem(face, i) {
  const [x, y, w, h] = face.box;
  const parts = [`score ${round(face.score, 3)}`, `box ${round(x)}, ${round(y)}, ${round(w)} × ${round(h)} px`];
  if (face.pose) parts.push(`yaw ${round(face.pose.yaw)}°, pitch ${round(face.pose.pitch)}°, roll ${round(face.pose.roll)}°`);
  if (face.eyes) parts.push(`eyes ${face.eyes.right_open ? "open" : "shut"}/${face.eyes.left_open ? "open" : "shut"}`);
  if (face.quality) parts.push(`blur ${round(face.quality.blur, 2)}`);
  // null (not absent) when asked for and the face mesh could not read this face: nothing is guessed.
  if (face.landmarks === null || face.pose === null) parts.push("the face mesh could not read this face");
  const item = el("li");
  item.append(el("strong", {}, `Face ${i + 1}`), document.createTextNode(" · " + parts.join(" · ")));
  return item;
}

// ---------------------------------------------------------------------------------------------
// The drawing: an SVG in the photo's own pixels (its viewBox is the oriented size facedetect
// reports), stretched over the <img>. Strokes do not scale (vector-effect), so lines stay thin and
// sharp at any size; labels are HTML placed in percent, so text stays readable.

function drawOverlay() {
  const detection = state.detection;
  const overlay = $("overlay");
  const tags = $("tags");
  overlay.replaceChildren();
  tags.replaceChildren();
  if (!detection) return;
  overlay.setAttribute("viewBox", `0 0 ${detection.width} ${detection.height}`);
  // A label at a point of the photo; `right` anchors its right end there instead (near the right edge).
  const place = (tag, x, y, right = false) => {
    if (right) tag.style.right = `${100 - (100 * x) / detection.width}%`;
    else tag.style.left = `${(100 * x) / detection.width}%`;
    tag.style.top = `${(100 * y) / detection.height}%`;
    tags.append(tag);
  };
  if ($("show-windows").checked) drawWindows(overlay, place);
  detection.faces.forEach((face, i) => drawFace(overlay, place, face, i));
  if (state.photoLoaded) $("stage").dataset.state = "ready";
}

function drawFace(overlay, place, face, i) {
  const [x, y, w, h] = face.box;
  const group = svg("g", { class: "face" });
  group.append(svg("rect", { x, y, width: w, height: h, class: "face-box", "data-testid": "face-box", "data-index": i }));
  if ($("show-keypoints").checked && face.keypoints) {
    for (const { className, names } of KEYPOINT_GROUPS) {
      group.append(dots(names.map((name) => face.keypoints[name]).filter(Boolean), className));
    }
  }
  if ($("show-mesh").checked && face.landmarks) group.append(dots(face.landmarks, "mesh"));
  if ($("show-pose").checked && face.pose && face.keypoints) group.append(poseLine(face));
  overlay.append(group);

  let text = `${i + 1} · ${round(face.score, 2)}`;
  if ($("show-pose").checked && face.pose) {
    text += ` · yaw ${Math.round(face.pose.yaw)}° pitch ${Math.round(face.pose.pitch)}° roll ${Math.round(face.pose.roll)}°`;
  }
  const tag = el("span", { class: "tag face-tag", "data-testid": "face-tag" }, text);
  // Above the box, unless that would leave the photo: then just inside it.
  if (y < 0.06 * state.detection.height) tag.classList.add("inside");
  // A face in the right part of the photo has its label end at the box's right edge, inside the photo.
  const right = x + w > 0.6 * state.detection.width;
  if (right) tag.classList.add("right");
  place(tag, right ? x + w : x, y, right);
}

/** Points as one path of zero-length round-capped strokes: a dot each, crisp at any zoom. */
function dots(points, className) {
  const d = points.map(([px, py]) => `M${px} ${py}h0`).join("");
  return svg("path", { d, class: "dots " + className });
}

/** Where the nose points: from the nose tip, along yaw (right in the image) and pitch (up). */
function poseLine(face) {
  const [nx, ny] = face.keypoints.nose_tip;
  const length = face.box[2] * 0.7;
  const rad = Math.PI / 180;
  const ex = nx + Math.sin(face.pose.yaw * rad) * length;
  const ey = ny - Math.sin(face.pose.pitch * rad) * length;
  const group = svg("g", { class: "pose" });
  group.append(svg("line", { x1: nx, y1: ny, x2: ex, y2: ey }), dots([[ex, ey]], "pose-end"));
  return group;
}

function drawWindows(overlay, place) {
  let shown = 0;
  for (const target of TARGETS) {
    const crop = state.windows.get(target.id);
    if (!crop || !crop.box) continue;
    const [x, y, w, h] = crop.box;
    const rect = svg("rect", { x, y, width: w, height: h, class: "crop-window", "data-testid": "crop-window", "data-target": target.id });
    rect.style.stroke = target.color;
    overlay.append(rect);
    const tag = el("span", { class: "tag window-tag" }, target.short);
    tag.style.background = target.color;
    // Inside the window's bottom-left corner, side by side: windows clamped to the photo share edges.
    tag.style.marginLeft = `${shown * 3.6}em`;
    shown += 1;
    place(tag, x, y + h);
  }
}

// ---------------------------------------------------------------------------------------------
// Crops: for each target, the window and reason (facedetect/crop) and the crop itself (facecrop2)

function buildCropCards() {
  const grid = $("crop-grid");
  const template = $("crop-card");
  for (const target of TARGETS) {
    const card = template.content.firstElementChild.cloneNode(true);
    card.dataset.target = target.id;
    card.querySelector(".swatch").style.background = target.color;
    card.querySelector(".crop-title").textContent = target.title;
    const link = card.querySelector(".url");
    link.id = `crop-url-${target.id}`;
    const copy = card.querySelector("button");
    copy.dataset.copy = link.id;
    copy.setAttribute("aria-label", `Copy the ${target.title} crop's URL`);
    // Pointing at a card (or tabbing into it) picks its window out on the photo.
    const highlight = (on) => () => {
      for (const rect of $("overlay").querySelectorAll(`[data-target="${target.id}"]`)) rect.classList.toggle("active", on);
    };
    card.addEventListener("mouseenter", highlight(true));
    card.addEventListener("mouseleave", highlight(false));
    card.addEventListener("focusin", highlight(true));
    card.addEventListener("focusout", highlight(false));
    grid.append(card);
  }
}

function targetSize(target) {
  if (target.id !== "custom") return [target.width, target.height];
  return [Number($("custom-width").value), Number($("custom-height").value)];
}

async function loadCrops() {
  if (!state.key) return;
  state.windows.clear();
  drawOverlay();
  await Promise.all(TARGETS.map((target) => loadCrop(target)));
}

async function loadCrop(target) {
  const signal = begin("crop:" + target.id);
  const card = document.querySelector(`.crop-card[data-target="${target.id}"]`);
  const [width, height] = targetSize(target);
  const img = card.querySelector("img");
  const error = card.querySelector(".error");
  const reason = card.querySelector(".crop-reason");
  const meta = card.querySelector(".meta");
  card.querySelector(".crop-size").textContent = `${width}×${height}`;
  card.dataset.state = "loading";
  error.hidden = true;
  meta.textContent = "";
  reason.replaceChildren();
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 1 && height >= 1 && width <= 9999 && height <= 9999)) {
    img.hidden = true;
    showError(error, new ProxyError(0, "the size must be whole numbers from 1 to 9999"));
    card.dataset.state = "error";
    return;
  }
  const size = `${width}x${height}`;
  const cropUrl = downloadUrl(state.key, `facecrop2/${size}${cropOptions()}`);
  showUrl(card.querySelector(".url"), cropUrl);
  // The window and its reason, from the same code facecrop2 runs; drawn on the photo.
  const windowDone = getJson(downloadUrl(state.key, `facedetect/crop/${size}${cropOptions()}`), signal).then(
    (answer) => {
      state.windows.set(target.id, answer.crop);
      showReason(reason, answer);
      drawOverlay();
    },
    (failure) => {
      if (!isAbort(failure)) state.windows.delete(target.id);
    },
  );
  // The crop itself, fetched so that an error answer shows as its message, not as a broken image.
  try {
    const answer = await getAnswer(cropUrl, signal);
    showBlob("crop:" + target.id, img, answer.blob);
    await loaded(img);
    img.hidden = false;
    img.alt = `${target.title} crop of ${state.key}, ${img.naturalWidth}×${img.naturalHeight}`;
    meta.textContent = `${img.naturalWidth} × ${img.naturalHeight} px · ${formatBytes(answer.blob.size)} · ${answer.type}`;
    card.dataset.state = "ready";
  } catch (failure) {
    if (isAbort(failure)) return;
    img.hidden = true;
    showError(error, failure);
    card.dataset.state = "error";
  }
  await windowDone;
}

/** facecrop2's reason: faces (which of them), or the fallback that answered, or the error. */
function showReason(node, answer) {
  const crop = answer.crop;
  const kind = crop.reason === "faces" ? "faces" : crop.reason === "error" ? "error" : "fallback";
  let text;
  if (crop.reason === "faces") {
    text = `${crop.chosen.length} of ${answer.faces.length} ${answer.faces.length === 1 ? "face" : "faces"} chosen`;
  } else if (crop.reason === "error") {
    text = crop.error || "no crop";
  } else {
    text = `no face: ${crop.reason === "original" ? "the original, uncropped" : crop.reason + " crop"}`;
  }
  if (crop.box) {
    const [x, y, w, h] = crop.box;
    text += ` · window ${w}×${h} at ${x}, ${y}`;
  }
  node.replaceChildren(el("span", { class: "badge " + kind }, kind), document.createTextNode(" " + text));
}

// ---------------------------------------------------------------------------------------------
// The pipeline builder

function buildExamples() {
  const box = $("pipeline-examples");
  for (const example of EXAMPLES) {
    const button = el("button", { type: "button", class: "chip mono" }, example);
    button.addEventListener("click", () => {
      $("pipeline-input").value = example;
      remember();
      runPipeline();
    });
    box.append(button);
  }
}

async function runPipeline() {
  if (!state.key) return;
  const signal = begin("pipeline");
  const pipeline = $("pipeline-input").value.trim();
  const url = downloadUrl(state.key, pipeline);
  const result = $("pipeline-result");
  const image = $("pipeline-image");
  const json = $("pipeline-json");
  result.dataset.state = "loading";
  $("pipeline-error").hidden = true;
  $("pipeline-info").textContent = "Running…";
  showUrl($("pipeline-url"), url);
  $("pipeline-copy").hidden = false;
  try {
    const answer = await getAnswer(url, signal);
    if (answer.type.startsWith("image/")) {
      showBlob("pipeline", image, answer.blob);
      await loaded(image);
      image.alt = `${state.key} through ${pipeline || "no pipeline"}`;
      json.hidden = true;
      $("pipeline-frame").hidden = false;
      $("pipeline-info").textContent = `${image.naturalWidth} × ${image.naturalHeight} px · ${formatBytes(answer.blob.size)} · ${answer.type}`;
    } else {
      $("pipeline-frame").hidden = true;
      json.textContent = answer.json ? JSON.stringify(answer.json, null, 2) : await answer.blob.text();
      json.hidden = false;
      $("pipeline-info").textContent = `${formatBytes(answer.blob.size)} · ${answer.type || "no type"}`;
    }
    result.dataset.state = "ready";
  } catch (failure) {
    if (isAbort(failure)) return;
    $("pipeline-frame").hidden = true;
    json.hidden = true;
    $("pipeline-info").textContent = "";
    showError($("pipeline-error"), failure);
    result.dataset.state = "error";
  }
}

// ---------------------------------------------------------------------------------------------
// Start-up: what the server offers, then the photo the address names (or the folder's first)

async function loadSetup() {
  try {
    state.setup = await getJson("/playground/setup.json");
  } catch (error) {
    setStatus("The playground's setup did not load: " + (error.describe ? error.describe() : error.message));
    state.setup = { listing: { available: false, keys: [], reason: "" }, upload: { available: false, reason: "" }, downloads: { available: true } };
  }
  const { listing, upload, downloads } = state.setup;
  $("listing-note").textContent = listing.available ? listing.reason || `${listing.keys.length} images in the folder.` : listing.reason;
  fillGallery(listing.keys);
  $("upload").disabled = !upload.available;
  $("upload-note").textContent = upload.available
    ? `Sent to this proxy's POST /v1/face/detect only, up to ${formatBytes(upload.max_bytes)}.`
    : upload.reason;
  if (!downloads.available) {
    for (const control of $("key-form").elements) control.disabled = true;
    $("listing-note").textContent = downloads.reason;
    setSourceMode(false, downloads.reason);
  }
}

function fillGallery(keys) {
  const gallery = $("gallery");
  const options = $("key-options");
  gallery.hidden = !keys.length;
  for (const key of keys) {
    options.append(el("option", { value: key }));
    const button = el("button", { type: "button", class: "thumb", "aria-pressed": "false", "data-key": key });
    // A small centre crop: cheap for the proxy (shrink-on-load), and lazy so a long list costs nothing unseen.
    const img = el("img", { alt: "", loading: "lazy", width: "72", height: "72", src: downloadUrl(key, "imageView2/1/w/144/h/144/q/70") });
    button.append(img, el("span", {}, key));
    button.addEventListener("click", () => openKey(key));
    const item = el("li");
    item.append(button);
    gallery.append(item);
  }
}

function markGallery() {
  for (const button of $("gallery").querySelectorAll("button")) {
    button.setAttribute("aria-pressed", String(button.dataset.key === state.key));
  }
}

/** Copy buttons copy their link's whole URL: with the clipboard API where the page is a secure
 * context (https, localhost), else through a selected scratch field (plain http elsewhere). */
async function copyFrom(button) {
  const url = $(button.dataset.copy).href;
  try {
    await navigator.clipboard.writeText(url);
  } catch (_) {
    const scratch = el("textarea", { class: "visually-hidden" });
    scratch.value = url;
    document.body.append(scratch);
    scratch.select();
    document.execCommand("copy");
    scratch.remove();
  }
  const label = button.textContent;
  button.textContent = "Copied";
  setTimeout(() => (button.textContent = label), 1500);
}

function wire() {
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    openKey($("key-input").value);
  });
  $("upload").addEventListener("change", (event) => openFile(event.target.files[0]));
  const zone = $("source");
  zone.addEventListener("dragover", (event) => {
    if (!state.setup || !state.setup.upload.available) return;
    event.preventDefault();
    zone.classList.add("dropping");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dropping"));
  zone.addEventListener("drop", (event) => {
    zone.classList.remove("dropping");
    if (!event.dataTransfer.files.length) return;
    event.preventDefault();
    openFile(event.dataTransfer.files[0]);
  });
  $("photo").addEventListener("load", onPhotoLoad);
  $("photo").addEventListener("error", onPhotoError);
  // Keypoints and windows are already known: redraw. Mesh and pose need a detection that asks for them.
  $("show-keypoints").addEventListener("change", drawOverlay);
  $("show-windows").addEventListener("change", drawOverlay);
  $("show-mesh").addEventListener("change", detectFaces);
  $("show-pose").addEventListener("change", detectFaces);
  $("crop-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadCrops();
  });
  $("fallback").addEventListener("change", loadCrops);
  $("pipeline-form").addEventListener("submit", (event) => {
    event.preventDefault();
    remember();
    runPipeline();
  });
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-copy]");
    if (button) copyFrom(button);
  });
}

async function start() {
  buildCropCards();
  buildExamples();
  wire();
  const params = new URLSearchParams(location.search);
  if (params.has("pipeline")) $("pipeline-input").value = params.get("pipeline");
  await loadSetup();
  const key = params.get("key") || (state.setup.listing.keys[0] ?? "");
  if (key && state.setup.downloads.available) await openKey(key);
}

start();
