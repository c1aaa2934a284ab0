// nginx/signed_url.js - verifies signed and public file URLs inside nginx,
// so those downloads never reach FastCGI (see handlers/files_serve.c for the
// signing side and nginx/tessera-locations.conf.in for the location).
//
//   GET /v1/files/<file id>/content?token=<t>&expires=<unix s>&t=<tenant id>
//     token = base64url(HMAC-SHA256(key, "get\n<tenant>\n<file>\n<expires>"))
//   GET /v1/files/<file id>/content?t=<tenant id>       (public files only)
//   GET /v1/files/<file id>/content?token=<t>&expires=<s>&t=<tenant>&version=<n>
//     an older version: the token signs "<file id>/<n>" in place of the id
//   GET /v1/files/<file id>/variants/<name>?token=…&expires=…&t=…&vk=<key>
//     a made image variant (vk: its stored name, "2-150x150-cover.jpg"):
//     the token signs "<file id>/variants/<key>"; public files' variants
//     are served with t and vk alone; the key names the transforms too
//     ("2-150x150-cover-gnorth_q60.jpg", see fcgi/media.c)
//   ...&d=inline  on a content URL: Content-Disposition inline for types
//     safe to display (SAFE_INLINE, as file_inline_safe in handlers/files.c;
//     never HTML or SVG); a signed URL signs it as a "/inline" suffix
//
// Public files are served with a public Cache-Control (a CDN may keep
// them); everything signed stays private.
//
// With storage_backend = s3 ($files_s3_base set by the key include) the
// decision is the same, made from the same publish state on disk; s3()
// then turns the path into the object's key (the current version's number
// is the third line of `meta`) and answers a GET of it presigned with
// AWS Signature V4 (query string, UNSIGNED-PAYLOAD, valid
// $files_s3_ttl seconds), which the location proxies to (s3-proxy.conf).
// common/s3.c signs the same way for the app's own requests.
//
// The key is $files_hmac_key, set from a 0600 include the master process
// reads at load (workers could not read it later).  njs 0.7.9 has no
// timingSafeEqual, so the comparison is a constant-time loop.  Duplicated
// arguments arrive as arrays and are refused.  Every value is checked
// against a strict pattern before it becomes part of a path.
var crypto = require('crypto');
var fs = require('fs');

var TENANT = /^tn_[0-9A-Z]{26}$/;
var FILE = /^file_[0-9A-Z]{26}$/;
var VARIANT = /^[0-9]{1,9}-[0-9]{1,4}x[0-9]{1,4}-[a-z]{1,8}(-[a-z0-9._]{1,100})?\.(jpg|png|webp|avif)$/;
var SAFE_INLINE = /^(image\/(png|jpeg|gif|webp|avif)|application\/pdf|text\/plain|audio\/[!-~]+|video\/[!-~]+)$/;
var VARIANT_TYPES = { jpg: 'image/jpeg', png: 'image/png', webp: 'image/webp', avif: 'image/avif' };
var PRIVATE = 'private, max-age=0, must-revalidate';
var PUBLIC = 'public, max-age=3600';

// One result per request (njs runs each request in its own VM copy).
var memo = null;

function arg(r, name) {
    var v = r.args[name];
    if (v === undefined) return null;
    if (typeof v !== 'string') return undefined;   // duplicated
    return v;
}

function sameText(a, b) {
    if (a.length !== b.length) return false;
    var d = 0;
    for (var i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
    return d === 0;
}

function decide(r) {
    if (memo !== null) return memo;
    memo = { path: '', type: '', disposition: '', cache: PRIVATE, version: '' };
    var file = r.variables.tessera_file;
    var t = arg(r, 't'), token = arg(r, 'token'), exp = arg(r, 'expires');
    var v = arg(r, 'version'), vk = arg(r, 'vk'), d = arg(r, 'd');
    if (!file || !FILE.test(file) || !t || !TENANT.test(t)) return memo;
    if (token === undefined || exp === undefined || v === undefined || vk === undefined ||
        (d !== null && d !== 'inline'))
        return memo;
    if (v !== null && !/^[1-9][0-9]{0,8}$/.test(v)) return memo;
    // A variant's URL names its stored variant; a content URL names none.
    var isVariant = /\/variants\/[a-z]+$/.test(r.uri);
    if (isVariant !== (vk !== null) || (vk !== null && (v !== null || d !== null || !VARIANT.test(vk))))
        return memo;
    var dir = t + '/files/' + file;
    var signed = file + (v ? '/' + v : '') + (vk ? '/variants/' + vk : '') + (d ? '/inline' : '');
    var rel, meta = dir + (v ? '/meta.' + v : '/meta');
    if (token === null && exp === null) {
        if (v !== null) return memo;
        rel = vk ? dir + '/variants/' + vk : dir + '/public';
        memo.cache = PUBLIC;
        // A variant is public while its file is (the public link exists).
        // With S3 the link points at no local file, so the link itself is
        // looked at (and the content needs the same check: no alias fails).
        // A content URL then names no object (404, as a missing alias is).
        var link = r.variables.files_root + '/' + dir + '/public';
        if (r.variables.files_s3_base) {
            try { fs.lstatSync(link); }
            catch (e) {
                if (vk) return memo;
                rel = dir + '/gone';
            }
        } else if (vk) {
            try { fs.accessSync(link); }
            catch (e) { return memo; }
        }
    } else {
        if (!token || !exp || !/^[0-9]{1,12}$/.test(exp)) return memo;
        if (Number(exp) <= Math.floor(Date.now() / 1000)) return memo;
        var key = r.variables.files_hmac_key;
        if (!key) return memo;
        var mac = crypto.createHmac('sha256', key)
            .update('get\n' + t + '\n' + signed + '\n' + exp)
            .digest('base64url');
        if (!sameText(mac, token)) return memo;
        rel = vk ? dir + '/variants/' + vk : dir + '/' + (v ? v : 'current');
    }
    // meta exists while the file is live (not in the trash): an older
    // version is served only then, with its own meta.<n>.
    var root = r.variables.files_root + '/';
    memo.path = rel;
    memo.type = 'application/octet-stream';
    memo.disposition = 'attachment';
    try {
        var m = fs.readFileSync(root + dir + '/meta', 'utf8');
        if (v) m = fs.readFileSync(root + meta, 'utf8');
        m = m.split('\n');
        memo.type = m[0] || memo.type;
        memo.disposition = m[1] || memo.disposition;
        memo.version = m[2];
        if (d && SAFE_INLINE.test(memo.type))
            memo.disposition = memo.disposition.replace(/^attachment/, 'inline');
        if (vk) {
            memo.type = VARIANT_TYPES[vk.split('.').pop()];
            memo.disposition = 'inline';
        }
    } catch (e) {
        // The file is gone (or the version has no meta): alias then
        // answers 404 for a path that no longer exists.
        if (v || vk) memo.path = dir + '/gone';
    }
    return memo;
}

// The object key of a decided path: in place of the `current` or `public`
// link, the version's number, the third line of `meta` (storage_publish).
function objectKey(rel, version) {
    if (!/\/(current|public)$/.test(rel)) return rel;
    return rel.replace(/[a-z]+$/, /^[0-9]{1,9}$/.test(version) ? version : 'gone');
}

function presign(r, base, key) {
    var m = /^(https?):\/\/([^\/]+)(\/[^?#]*)?$/.exec(base);
    if (!m) return '';
    var host = m[2].replace(m[1] === 'https' ? /:443$/ : /:80$/, '');
    var uri = (m[3] || '').replace(/\/$/, '') + '/' + key;
    var now = new Date().toISOString().replace(/[-:]/g, '').replace(/\.[0-9]+Z$/, 'Z');
    var day = now.slice(0, 8), region = r.variables.files_s3_region;
    var scope = day + '/' + region + '/s3/aws4_request';
    var q = 'X-Amz-Algorithm=AWS4-HMAC-SHA256' +
        '&X-Amz-Credential=' + encodeURIComponent(r.variables.files_s3_access + '/' + scope) +
        '&X-Amz-Date=' + now + '&X-Amz-Expires=' + r.variables.files_s3_ttl +
        '&X-Amz-SignedHeaders=host';
    var creq = 'GET\n' + uri + '\n' + q + '\nhost:' + host + '\n\nhost\nUNSIGNED-PAYLOAD';
    var sts = 'AWS4-HMAC-SHA256\n' + now + '\n' + scope + '\n' +
        crypto.createHash('sha256').update(creq).digest('hex');
    var k = crypto.createHmac('sha256', 'AWS4' + r.variables.files_s3_secret).update(day).digest();
    k = crypto.createHmac('sha256', k).update(region).digest();
    k = crypto.createHmac('sha256', k).update('s3').digest();
    k = crypto.createHmac('sha256', k).update('aws4_request').digest();
    return m[1] + '://' + m[2] + uri + '?' + q + '&X-Amz-Signature=' +
        crypto.createHmac('sha256', k).update(sts).digest('hex');
}

function s3(r) {
    var d = decide(r), base = r.variables.files_s3_base;
    if (!d.path || !base) return '';
    return presign(r, base, objectKey(d.path, d.version));
}

function path(r) { return decide(r).path; }
function type(r) { return decide(r).type; }
function disposition(r) { return decide(r).disposition; }
function cache(r) { return decide(r).cache; }

export default { path, type, disposition, cache, s3 };
