// tests/integration/tus_client.js — uploads a file to Tessera with the real
// tus client library (tus-js-client under Node), cutting the connection
// part-way and resuming from the offset the server reports.
//
//   NODE_PATH=<node_modules> node tus_client.js ENDPOINT TOKEN FILE CHUNK CUT_AT
//
// ENDPOINT is <base>/v1/files/uploads/tus, CHUNK the chunk size in bytes,
// CUT_AT the fraction (0..1) after which the first attempt is aborted.
// Prints one JSON line: the upload URL, where the second attempt resumed,
// and the chunks each attempt sent.
'use strict';
const fs = require('fs');
const tus = require('tus-js-client');

const [endpoint, token, file, chunk, cutAt] = process.argv.slice(2);
const size = fs.statSync(file).size;
const headers = { Authorization: 'Bearer ' + token };
const metadata = { filename: 'big.bin', filetype: 'application/octet-stream', folder: 'tus' };

function attempt(uploadUrl, stopAt) {
  return new Promise((resolve, reject) => {
    let sent = 0, resumedFrom = null;
    const up = new tus.Upload(fs.createReadStream(file), {
      endpoint, uploadUrl, headers, metadata, uploadSize: size,
      chunkSize: Number(chunk), retryDelays: null, removeFingerprintOnSuccess: true,
      onAfterResponse(req, res) {
        if (req.getMethod() === 'HEAD')
          resumedFrom = Number(res.getHeader('Upload-Offset'));
        if (req.getMethod() === 'PATCH')
          sent++;
      },
      onProgress(bytes) {
        if (stopAt && bytes >= stopAt * size) {
          // Abort the request in flight, as a dropped connection would.
          up.abort(false).then(() => resolve({ url: up.url, sent, resumedFrom, done: false }));
          stopAt = 0;
        }
      },
      onSuccess() { resolve({ url: up.url, sent, resumedFrom, done: true }); },
      onError(e) { reject(e); },
    });
    up.start();
  });
}

(async () => {
  const first = await attempt(null, Number(cutAt));
  if (!first.url) throw new Error('no upload URL after the first attempt');
  const second = await attempt(first.url, 0);
  console.log(JSON.stringify({ url: second.url, first_sent: first.sent, first_done: first.done,
                               resumed_from: second.resumedFrom, second_sent: second.sent,
                               done: second.done }));
})().catch((e) => { console.error(String(e && e.stack || e)); process.exit(1); });
