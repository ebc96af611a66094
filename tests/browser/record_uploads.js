// Recorded by the page itself: the bytes of each FormData / Blob body it sends (file sizes
// plus text fields), since Chromium gives Playwright no body for a file upload.
window.__uploads = [];
const bodySize = (body) => {
  if (body instanceof Blob) return body.size;
  let n = 0;
  for (const [, value] of body.entries()) {
    n += typeof value === "string" ? value.length : value.size;
  }
  return n;
};
const isUpload = (body) => body instanceof FormData || body instanceof Blob;
const send = XMLHttpRequest.prototype.send;
XMLHttpRequest.prototype.send = function (body) {
  if (isUpload(body)) window.__uploads.push(bodySize(body));
  return send.call(this, body);
};
const fetched = window.fetch;
window.fetch = function (input, init) {
  if (init && isUpload(init.body)) window.__uploads.push(bodySize(init.body));
  return fetched.apply(this, arguments);
};
