/*
 * saml.c - sign-in with a SAML 2.0 identity provider, Tessera being the
 * service provider, on lasso (Entr'ouvert's SAML library, on xmlsec: no
 * XML signature code here):
 *
 *   GET  /v1/auth/saml/:provider/metadata  this SP's metadata (entity id,
 *        ACS URL, signing certificate) for registration at the IdP;
 *   GET  /v1/auth/saml/:provider/login     302 to the IdP with a signed
 *        AuthnRequest (HTTP-Redirect binding); the RelayState names the
 *        state kept in Redis for ten minutes (request id, redirect_to);
 *   POST /v1/auth/saml/:provider/acs       the IdP's Response (HTTP-POST
 *        binding): verified, then 302 to redirect_to with the session in
 *        the fragment, as the OAuth callback does (oauth.c's extid_*).
 *
 * Providers are named by the tenant under "saml" in its auth config
 * (identity_settings.c).  Each has a key and certificate of its own, made
 * when the provider is first written unless given (saml_providers_prepare); the
 * key is sealed with the master key.
 *
 * What the ACS checks: the signature (lasso, against the certificate of
 * the IdP's metadata; each assertion signed itself unless the provider
 * says otherwise), the assertion's issuer, NotBefore/NotOnOrAfter of its
 * conditions and of its subject confirmation (2 minutes' skew), its
 * audience (our entity id), Destination and Recipient (our ACS URL), that
 * its id was never accepted before (Redis, until it expires), and
 * InResponseTo (the id of the request the state remembers).  A refusal is
 * 401 (400 for a malformed form), audited as saml.signin_refused; nothing
 * else is stored.  The identity is (saml:<provider>, NameID); the email
 * comes from the configured attribute (or an emailAddress NameID) and is
 * trusted as verified: the tenant chose to trust this IdP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lasso/lasso.h>
#include <lasso/saml-2.0/saml2_helper.h>
#include <lasso/xml/misc_text_node.h>
#include <lasso/xml/saml-2.0/saml2_assertion.h>
#include <lasso/xml/saml-2.0/saml2_attribute.h>
#include <lasso/xml/saml-2.0/saml2_attribute_statement.h>
#include <lasso/xml/saml-2.0/saml2_attribute_value.h>
#include <lasso/xml/saml-2.0/samlp2_authn_request.h>
#include <lasso/xml/saml-2.0/samlp2_response.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "../common/config.h"
#include "../common/crypto.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../common/strbuf.h"
#include "../fcgi/journal.h"
#include "enduser.h"
#include "routes.h"

#define CLOCK_SKEW 120
#define RL_SAML 30, 0
#define CERT_DAYS 3650L
#define ACS_BODY_MAX (256 * 1024)
/* The refusal of a form that holds no SAML Response: 400, not 401. */
#define MALFORMED "malformed_response"

#define NS_MD "urn:oasis:names:tc:SAML:2.0:metadata"
#define NS_DS "http://www.w3.org/2000/09/xmldsig#"
#define PROTOCOL "urn:oasis:names:tc:SAML:2.0:protocol"

typedef struct provider {
	const char *name;
	const char *ident;             /* "saml:<name>", the identity's provider */
	const char *entity_id, *acs_url;
	const char *key_pem, *cert_pem;
	const char *idp_metadata;      /* NULL when no IdP is configured */
	const char *email_attr, *name_attr;
	bool enabled, require_signed;
} provider_t;

/* lasso's own messages (glib's log) into ours, at debug level: a refused
 * message is already answered and audited. */
static void lasso_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer user)
{
	(void)level;
	(void)user;
	log_debug("%s: %s", domain ? domain : "lasso", msg);
}

static void lasso_once(void)
{
	static bool done;
	if (!done) {
		lasso_init();
		g_log_set_handler("Lasso", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION, lasso_log, NULL);
		g_log_set_handler("lasso", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION, lasso_log, NULL);
		done = true;
	}
}

/* --- keys and certificates --------------------------------------------------- */

/* The PEM text of a BIO, into a. */
static char *bio_text(arena_t *a, BIO *b)
{
	char *p;
	long n = BIO_get_mem_data(b, &p);
	return n > 0 ? arena_strndup(a, p, (size_t)n) : NULL;
}

/* A self-signed certificate of key, named for the provider (PEM, in a). */
static char *cert_make(arena_t *a, EVP_PKEY *key, const char *provider)
{
	X509 *x = X509_new();
	BIGNUM *serial = BN_new();
	BIO *out = BIO_new(BIO_s_mem());
	char cn[64];
	char *pem = NULL;
	snprintf(cn, sizeof(cn), "Tessera SAML SP %.40s", provider);
	if (!x || !serial || !out || !BN_rand(serial, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) || !X509_set_version(x, 2) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), CERT_DAYS * 86400) || !X509_set_pubkey(x, key) ||
	    !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
					(const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(x)) || !X509_sign(x, key, EVP_sha256()) ||
	    !PEM_write_bio_X509(out, x))
		goto done;
	pem = bio_text(a, out);
done:
	BIO_free(out);
	BN_free(serial);
	X509_free(x);
	return pem;
}

/* The private key of a PEM text, or NULL. */
static EVP_PKEY *key_read(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	return k;
}

/* One provider's key and certificate made or checked (o: its stored
 * settings, the key already sealed). */
static err_t provider_keys(req_t *r, const char *name, cJSON *o)
{
	const char *field = arena_printf(r->a, "saml.%s.sp_private_key", name);
	const char *sealed = json_str_of(o, "sp_private_key_sealed"), *cert = json_str_of(o, "sp_certificate");
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	err_t rc = E_OK;
	if (sealed) {
		const char *pem = secret_open(r->a, g_config.master_key_bin, sealed, NULL);
		if (!pem || !(key = key_read(pem)) || EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
			rc = req_fail_field(r, E_VALIDATION, field, "%s must be an RSA private key in PEM", field);
			goto done;
		}
	} else {
		BIO *out = BIO_new(BIO_s_mem());
		key = EVP_RSA_gen(2048);
		if (!out || !key || !PEM_write_bio_PrivateKey(out, key, NULL, NULL, 0, NULL, NULL)) {
			BIO_free(out);
			rc = req_fail(r, E_INTERNAL, "Cannot make a key for SAML provider %s", name);
			goto done;
		}
		const char *pem = bio_text(r->a, out);
		BIO_free(out);
		cJSON_DeleteItemFromObjectCaseSensitive(o, "sp_private_key_sealed");
		cJSON_AddStringToObject(o, "sp_private_key_sealed",
					secret_seal(r->a, g_config.master_key_bin, pem, strlen(pem)));
		cert = NULL;   /* a certificate given without its key cannot be used */
	}
	if (cert) {
		BIO *b = BIO_new_mem_buf(cert, -1);
		x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		field = arena_printf(r->a, "saml.%s.sp_certificate", name);
		if (!x)
			rc = req_fail_field(r, E_VALIDATION, field, "%s must be a PEM certificate", field);
		else if (X509_check_private_key(x, key) != 1)
			rc = req_fail_field(r, E_VALIDATION, field, "%s does not match sp_private_key", field);
		goto done;
	}
	const char *made = cert_make(r->a, key, name);
	if (!made) {
		rc = req_fail(r, E_INTERNAL, "Cannot make a certificate for SAML provider %s", name);
		goto done;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(o, "sp_certificate");
	cJSON_AddStringToObject(o, "sp_certificate", made);
done:
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

/* --- metadata ------------------------------------------------------------------ */

static const char *xml_attr(req_t *r, const char *s)
{
	strbuf_t b = { 0 };
	sb_put_html(&b, s, strlen(s));
	return sb_take(&b, r->a);
}

/* The base64 body of a PEM certificate (what ds:X509Certificate holds). */
static const char *cert_body(req_t *r, const char *pem)
{
	const char *begin = strstr(pem, "-----BEGIN CERTIFICATE-----");
	const char *p = begin ? begin + 27 : pem, *end = strstr(p, "-----END");
	strbuf_t b = { 0 };
	for (; *p && (!end || p < end); p++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", *p))
			sb_putn(&b, p, 1);
	return sb_take(&b, r->a);
}

static const char *key_descriptor(req_t *r, const char *cert_pem)
{
	return arena_printf(r->a, "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data>"
			    "<ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
			    "</md:KeyDescriptor>", cert_body(r, cert_pem));
}

static const char *sp_metadata(req_t *r, const provider_t *p)
{
	return arena_printf(r->a,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<md:EntityDescriptor xmlns:md=\"" NS_MD "\" xmlns:ds=\"" NS_DS "\" entityID=\"%s\">"
		"<md:SPSSODescriptor AuthnRequestsSigned=\"true\" WantAssertionsSigned=\"%s\" "
		"protocolSupportEnumeration=\"" PROTOCOL "\">%s"
		"<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>"
		"<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>"
		"<md:AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" "
		"Location=\"%s\" index=\"0\" isDefault=\"true\"/>"
		"</md:SPSSODescriptor></md:EntityDescriptor>\n",
		xml_attr(r, p->entity_id), p->require_signed ? "true" : "false",
		key_descriptor(r, p->cert_pem), xml_attr(r, p->acs_url));
}

/* The IdP's metadata: as configured, or made of its entity id, SSO URL
 * and certificate; NULL when neither is there. */
static const char *idp_metadata(req_t *r, const cJSON *o)
{
	const char *md = json_str_of(o, "idp_metadata"), *id = json_str_of(o, "idp_entity_id");
	const char *sso = json_str_of(o, "idp_sso_url"), *cert = json_str_of(o, "idp_certificate");
	if (md || !id || !sso || !cert)
		return md;
	return arena_printf(r->a,
		"<md:EntityDescriptor xmlns:md=\"" NS_MD "\" xmlns:ds=\"" NS_DS "\" entityID=\"%s\">"
		"<md:IDPSSODescriptor WantAuthnRequestsSigned=\"true\" protocolSupportEnumeration=\""
		PROTOCOL "\">%s<md:SingleSignOnService "
		"Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"%s\"/>"
		"</md:IDPSSODescriptor></md:EntityDescriptor>", xml_attr(r, id), key_descriptor(r, cert),
		xml_attr(r, sso));
}

/* The IdP of a provider's stored settings, when it has one, loaded by
 * lasso once to see that it is the metadata of an identity provider. */
static err_t provider_idp_check(req_t *r, const char *name, const cJSON *o)
{
	const char *md = idp_metadata(r, o);
	if (!md)
		return E_OK;
	lasso_once();
	LassoProvider *idp = lasso_provider_new_from_buffer(LASSO_PROVIDER_ROLE_IDP, md, NULL, NULL);
	bool ok = idp && idp->ProviderID;
	if (idp)
		g_object_unref(idp);
	if (ok)
		return E_OK;
	const char *field = arena_printf(r->a, "saml.%s.%s", name,
					 json_str_of(o, "idp_metadata") ? "idp_metadata" : "idp_certificate");
	return req_fail_field(r, E_VALIDATION, field, "%s does not make SAML metadata of an identity provider "
			      "lasso can load", field);
}

err_t saml_providers_prepare(req_t *r, cJSON *auth)
{
	cJSON *o;
	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(auth, "saml")) {
		err_t rc = cJSON_IsObject(o) ? provider_keys(r, o->string, o) : E_OK;
		if (!rc && cJSON_IsObject(o))
			rc = provider_idp_check(r, o->string, o);
		if (rc)
			return rc;
	}
	return E_OK;
}

/* --- the provider ----------------------------------------------------------------- */

/* The provider's settings (404 when the tenant has none of that name);
 * with need_idp, it must also be enabled and have its IdP. */
static err_t provider_load(req_t *r, const char *name, bool need_idp, provider_t *p)
{
	cJSON *cfg;
	err_t rc = auth_config_effective(r, &cfg);
	if (rc)
		return rc;
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg, "saml"), name);
	memset(p, 0, sizeof(*p));
	p->name = name;
	p->enabled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "enabled"));
	p->idp_metadata = idp_metadata(r, o);
	if (!cJSON_IsObject(o) || (need_idp && (!p->enabled || !p->idp_metadata)))
		return req_fail_field(r, E_NOT_FOUND, "provider",
				      "SAML provider %s is not enabled for this tenant", name);
	p->ident = arena_printf(r->a, "saml:%s", name);
	p->acs_url = arena_printf(r->a, "%s/v1/auth/saml/%s/acs?tenant_id=%s", g_config.public_url,
				  url_component(r->a, name), url_component(r->a, r->tenant.id));
	p->entity_id = json_str_of(o, "sp_entity_id");
	if (!p->entity_id)
		p->entity_id = arena_printf(r->a, "%s/v1/auth/saml/%s/metadata?tenant_id=%s",
					    g_config.public_url, url_component(r->a, name),
					    url_component(r->a, r->tenant.id));
	p->email_attr = json_str_of(o, "email_attribute") ? json_str_of(o, "email_attribute") : "email";
	p->name_attr = json_str_of(o, "name_attribute") ? json_str_of(o, "name_attribute") : "name";
	const cJSON *rs = cJSON_GetObjectItemCaseSensitive(o, "require_signed_assertions");
	p->require_signed = !cJSON_IsFalse(rs);
	p->cert_pem = json_str_of(o, "sp_certificate");
	const char *sealed = json_str_of(o, "sp_private_key_sealed");
	if (!sealed || !p->cert_pem ||
	    !(p->key_pem = secret_open(r->a, g_config.master_key_bin, sealed, NULL))) {
		log_error("%s: SAML provider %s has no usable key", r->request_id, name);
		return E_INTERNAL;
	}
	return E_OK;
}

/* A string member of a lasso object replaced (glib memory). */
static void gstr_set(char **dst, const char *v)
{
	g_free(*dst);
	*dst = g_strdup(v);
}

/* The entity id of the one IdP a server knows (owned by it), or NULL. */
static const char *server_idp(LassoServer *s)
{
	GHashTableIter it;
	gpointer key, value;
	g_hash_table_iter_init(&it, s->providers);
	return g_hash_table_iter_next(&it, &key, &value) ? LASSO_PROVIDER(value)->ProviderID : NULL;
}

/* The servers this worker made, by the digest of what made them (the SP's
 * metadata, key and certificate, the IdP's metadata): making one parses
 * keys and metadata, tens of milliseconds (mod_auth_mellon keeps its
 * LassoServer across requests the same way). */
#define SERVER_CACHE 8
static struct {
	char digest[65];
	LassoServer *server;
} server_cache[SERVER_CACHE];
static unsigned server_cache_next;

/* This SP with the provider's IdP, for lasso (*out, a reference the
 * caller drops with g_object_unref); *idp_id receives the IdP's entity id
 * (owned by the server).  An error when the IdP's metadata cannot be used. */
static err_t server_make(req_t *r, const provider_t *p, LassoServer **out, const char **idp_id)
{
	const char *md = sp_metadata(r, p);
	const char *seed = arena_printf(r->a, "%s\x01%s\x01%s\x01%s", md, p->key_pem, p->cert_pem,
					p->idp_metadata);
	char digest[65];
	sha256_hex(digest, seed, strlen(seed));
	*out = NULL;
	for (unsigned i = 0; i < SERVER_CACHE; i++) {
		if (server_cache[i].server && !strcmp(server_cache[i].digest, digest)) {
			*out = g_object_ref(server_cache[i].server);
			*idp_id = server_idp(*out);
			return E_OK;
		}
	}
	lasso_once();
	LassoServer *s = lasso_server_new_from_buffers(md, p->key_pem, NULL, p->cert_pem);
	if (!s) {
		log_error("%s: lasso refused the SP of SAML provider %s", r->request_id, p->name);
		return req_fail(r, E_INTERNAL, "The SAML service provider cannot be set up");
	}
	s->signature_method = LASSO_SIGNATURE_METHOD_RSA_SHA256;
	int rc = lasso_server_add_provider_from_buffer(s, LASSO_PROVIDER_ROLE_IDP, p->idp_metadata, NULL, NULL);
	if (rc || !(*idp_id = server_idp(s))) {
		g_object_unref(s);
		return req_fail(r, E_IDP, "The IdP metadata of SAML provider %s cannot be used: %s", p->name,
				rc ? lasso_strerror(rc) : "it names no identity provider");
	}
	unsigned slot = server_cache_next++ % SERVER_CACHE;
	if (server_cache[slot].server)
		g_object_unref(server_cache[slot].server);
	memcpy(server_cache[slot].digest, digest, sizeof(digest));
	server_cache[slot].server = g_object_ref(s);
	*out = s;
	return E_OK;
}

/* --- GET /v1/auth/saml/:provider/metadata ------------------------------------------ */

static err_t saml_metadata(req_t *r)
{
	provider_t p;
	err_t rc = provider_load(r, req_param(r, "provider"), false, &p);
	if (rc)
		return rc;
	const char *md = sp_metadata(r, &p);
	reply_header(r, "Cache-Control", "no-cache");
	reply_raw(r, 200, "application/samlmetadata+xml", md, strlen(md));
	return E_OK;
}

/* --- GET /v1/auth/saml/:provider/login ---------------------------------------------- */

static err_t saml_login(req_t *r)
{
	auth_settings_t s;
	provider_t p;
	const char *redirect_to = req_query(r, "redirect_to"), *idp_id;
	err_t rc = auth_settings_load(r, &s);
	if (rc || (rc = redirect_check(r, &s, redirect_to)) ||
	    (rc = provider_load(r, req_param(r, "provider"), true, &p)) ||
	    (rc = auth_rate(r, "saml", NULL, RL_SAML)))
		return rc;
	LassoServer *server;
	if ((rc = server_make(r, &p, &server, &idp_id)))
		return rc;
	LassoLogin *login = lasso_login_new(server);
	LassoProfile *profile = LASSO_PROFILE(login);
	char *state = random_token(r->a, "", 32);
	const char *url = NULL, *request_id = NULL;
	int lrc = lasso_login_init_authn_request(login, (gchar *)idp_id, LASSO_HTTP_METHOD_REDIRECT);
	if (!lrc) {
		LassoSamlp2AuthnRequest *req = LASSO_SAMLP2_AUTHN_REQUEST(profile->request);
		gstr_set(&req->NameIDPolicy->Format, LASSO_SAML2_NAME_IDENTIFIER_FORMAT_UNSPECIFIED);
		req->NameIDPolicy->AllowCreate = TRUE;
		gstr_set(&req->ProtocolBinding, LASSO_SAML2_METADATA_BINDING_POST);
		gstr_set(&profile->msg_relayState, state);
		lasso_profile_set_signature_hint(profile, LASSO_PROFILE_SIGNATURE_HINT_FORCE);
		lrc = lasso_login_build_authn_request_msg(login);
		request_id = arena_strdup(r->a, LASSO_SAMLP2_REQUEST_ABSTRACT(req)->ID);
	}
	if (!lrc && profile->msg_url)
		url = arena_strdup(r->a, profile->msg_url);
	lasso_login_destroy(login);
	g_object_unref(server);
	if (!url)
		return req_fail(r, E_IDP, "The SAML request for provider %s cannot be made: %s", p.name,
				lrc ? lasso_strerror(lrc) : "no IdP sign-on URL");
	cJSON *st = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(st, "provider", p.name);
	cJSON_AddStringToObject(st, "request_id", request_id);
	rc = extid_state_put(r, "saml", &s, redirect_to, st, state);
	return rc ? rc : extid_redirect(r, url);
}

/* --- POST /v1/auth/saml/:provider/acs ---------------------------------------------- */

/* One field of the urlencoded body (NULL when absent or malformed). */
static const char *form_field(req_t *r, const char *name)
{
	size_t n = strlen(name);
	for (const char *s = r->body ? r->body : ""; *s; ) {
		size_t len = strcspn(s, "&");
		if (len > n && !strncmp(s, name, n) && s[n] == '=')
			return url_decode(r->a, s + n + 1, len - n - 1, true);
		s += len + (s[len] == '&');
	}
	return NULL;
}

/* An xsd:dateTime (UTC) as a time_t, or -1. */
static time_t xml_time(const char *s)
{
	struct tm tm = { 0 };
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (!end)
		return -1;
	if (*end == '.')
		end += 1 + strspn(end + 1, "0123456789");
	return !strcmp(end, "Z") || !*end ? timegm(&tm) : -1;
}

/* The first text value of the attribute named (Name or FriendlyName). */
static const char *attribute(req_t *r, LassoSaml2Assertion *a, const char *name)
{
	for (GList *st = a->AttributeStatement; st; st = st->next) {
		if (!LASSO_IS_SAML2_ATTRIBUTE_STATEMENT(st->data))
			continue;
		for (GList *at = LASSO_SAML2_ATTRIBUTE_STATEMENT(st->data)->Attribute; at; at = at->next) {
			LassoSaml2Attribute *attr = at->data;
			if (!LASSO_IS_SAML2_ATTRIBUTE(attr) ||
			    !((attr->Name && !strcmp(attr->Name, name)) ||
			      (attr->FriendlyName && !strcmp(attr->FriendlyName, name))))
				continue;
			for (GList *v = attr->AttributeValue; v; v = v->next) {
				if (!LASSO_IS_SAML2_ATTRIBUTE_VALUE(v->data))
					continue;
				for (GList *n = LASSO_SAML2_ATTRIBUTE_VALUE(v->data)->any; n; n = n->next)
					if (LASSO_IS_MISC_TEXT_NODE(n->data) && LASSO_MISC_TEXT_NODE(n->data)->content)
						return arena_strdup(r->a, LASSO_MISC_TEXT_NODE(n->data)->content);
			}
		}
	}
	return NULL;
}

/* Why lasso refused the response, for the app. */
static int lasso_refusal(extid_failure_t *f, int rc, req_t *r)
{
	switch (rc) {
	case LASSO_PROFILE_ERROR_CANNOT_VERIFY_SIGNATURE:
	case LASSO_DS_ERROR_INVALID_SIGNATURE:
	case LASSO_DS_ERROR_SIGNATURE_NOT_FOUND:
	case LASSO_DS_ERROR_SIGNATURE_VERIFICATION_FAILED:
		return extid_fail(f, "invalid_signature", arena_printf(r->a,
			"the response's signature does not verify with the IdP's certificate (%s)",
			lasso_strerror(rc)));
	case LASSO_LOGIN_ERROR_STATUS_NOT_SUCCESS:
	case LASSO_LOGIN_ERROR_REQUEST_DENIED:
	case LASSO_LOGIN_ERROR_UNKNOWN_PRINCIPAL:
		return extid_fail(f, "access_denied", "the IdP did not authenticate the user");
	case LASSO_PROFILE_ERROR_INVALID_MSG:
	case LASSO_PROFILE_ERROR_UNSUPPORTED_PROFILE:
		return extid_fail(f, MALFORMED, "the SAMLResponse is not a base64-encoded SAML Response");
	case LASSO_SERVER_ERROR_PROVIDER_NOT_FOUND:
	case LASSO_PROFILE_ERROR_MISSING_ISSUER:
		return extid_fail(f, "invalid_response", "the response is not from the provider's IdP");
	default:
		return extid_fail(f, "invalid_response", arena_printf(r->a, "the SAML response is refused: %s",
								      lasso_strerror(rc)));
	}
}

/* The assertion's id taken once: false when it was seen before. */
static bool assertion_fresh(req_t *r, const provider_t *p, const char *id, time_t until, err_t *rc)
{
	char hash[65], ttl[24];
	const char *seed = arena_printf(r->a, "%s|%s", p->ident, id);
	sha256_hex(hash, seed, strlen(seed));
	long secs = (long)(until - time(NULL)) + CLOCK_SKEW;
	snprintf(ttl, sizeof(ttl), "%ld", secs > 60 ? secs : 60);
	redisReply *rep;
	const char *set[] = { "SET", cache_tkey(r->a, "saml:seen", r->tenant.id, "%s", hash), "1", "NX",
			      "EX", ttl };
	*rc = E_OK;
	if (cache_cmd(r->cache, r->a, &rep, 6, set)) {
		*rc = req_fail(r, E_UNAVAILABLE, "SAML replay protection is unavailable; try again shortly");
		return false;
	}
	return rep->type == REDIS_REPLY_STATUS;
}

/* The checks lasso leaves to its caller, on the one assertion. */
static int assertion_check(req_t *r, const provider_t *p, const char *idp_id, LassoSamlp2Response *resp,
			   LassoSaml2Assertion *a, const cJSON *st, extid_failure_t *f, err_t *rc)
{
	LassoSamlp2StatusResponse *sr = LASSO_SAMLP2_STATUS_RESPONSE(resp);
	LassoSaml2Conditions *c = a->Conditions;
	LassoSaml2SubjectConfirmationData *scd = lasso_saml2_assertion_get_subject_confirmation_data(a, FALSE);
	time_t now = time(NULL), until = c ? xml_time(c->NotOnOrAfter) : -1;
	*rc = E_OK;
	if (!a->Issuer || !a->Issuer->content || strcmp(a->Issuer->content, idp_id))
		return extid_fail(f, "invalid_response", "the assertion is not from the provider's IdP");
	if (!c || until < 0 ||
	    lasso_saml2_assertion_validate_time_checks(a, CLOCK_SKEW, now) != LASSO_SAML2_ASSERTION_VALID)
		return extid_fail(f, "expired", "the assertion is not valid now (NotBefore/NotOnOrAfter)");
	if (scd && scd->NotOnOrAfter && xml_time(scd->NotOnOrAfter) + CLOCK_SKEW <= now)
		return extid_fail(f, "expired", "the assertion's subject confirmation has expired");
	if (!lasso_saml2_assertion_has_audience_restriction(a) ||
	    lasso_saml2_assertion_validate_audience(a, p->entity_id) != LASSO_SAML2_ASSERTION_VALID)
		return extid_fail(f, "wrong_audience", "the assertion is not meant for this service provider "
				  "(audience)");
	if ((sr->Destination && strcmp(sr->Destination, p->acs_url)) ||
	    (scd && scd->Recipient && strcmp(scd->Recipient, p->acs_url)))
		return extid_fail(f, "wrong_destination", "the response is addressed to another URL");
	if (!a->ID || !*a->ID || strlen(a->ID) > 256)
		return extid_fail(f, "invalid_response", "the assertion has no ID");
	if (!assertion_fresh(r, p, a->ID, until, rc))
		return *rc ? -1 : extid_fail(f, "replayed", "this assertion was already used");
	const char *want = json_str_of(st, "request_id");
	if (!sr->InResponseTo || !want || strcmp(sr->InResponseTo, want) ||
	    (scd && scd->InResponseTo && strcmp(scd->InResponseTo, want)))
		return extid_fail(f, "wrong_request", "the response answers another request (InResponseTo)");
	return 0;
}

/* The claims of the verified assertion: sub (NameID), email, name. */
static int assertion_claims(req_t *r, const provider_t *p, LassoSaml2Assertion *a, cJSON **claims,
			    extid_failure_t *f)
{
	LassoSaml2NameID *nid = a->Subject ? a->Subject->NameID : NULL;
	if (!nid || !nid->content || !*nid->content || strlen(nid->content) > 255)
		return extid_fail(f, "invalid_response", "the assertion has no usable NameID");
	const char *email = attribute(r, a, p->email_attr), *name = attribute(r, a, p->name_attr);
	if (!email && nid->Format && !strcmp(nid->Format, LASSO_SAML2_NAME_IDENTIFIER_FORMAT_EMAIL))
		email = nid->content;
	*claims = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(*claims, "sub", nid->content);
	if (email && email_address_valid(email)) {
		cJSON_AddStringToObject(*claims, "email", email);
		cJSON_AddBoolToObject(*claims, "email_verified", true);
	}
	if (name && strlen(name) <= 500)
		cJSON_AddStringToObject(*claims, "name", name);
	return 0;
}

/* Verifies the response of a known state and opens the session (*d); a
 * refusal fills f and returns E_UNAUTHORIZED. */
static err_t acs_finish(req_t *r, const provider_t *p, const char *saml_response, const cJSON *st,
			cJSON **d, extid_failure_t *f)
{
	const char *idp_id;
	LassoServer *server;
	if (server_make(r, p, &server, &idp_id)) {
		extid_fail(f, "provider_unavailable", "the provider's IdP metadata cannot be used");
		return E_UNAUTHORIZED;
	}
	LassoLogin *login = lasso_login_new(server);
	LassoProfile *profile = LASSO_PROFILE(login);
	lasso_profile_set_signature_verify_hint(profile, p->require_signed ?
		LASSO_PROFILE_SIGNATURE_VERIFY_HINT_FORCE : LASSO_PROFILE_SIGNATURE_VERIFY_HINT_MAYBE);
	err_t rc = E_UNAUTHORIZED;
	cJSON *claims = NULL;
	int lrc = lasso_login_process_authn_response_msg(login, (gchar *)saml_response);
	LassoSamlp2Response *resp = LASSO_IS_SAMLP2_RESPONSE(profile->response) ?
		LASSO_SAMLP2_RESPONSE(profile->response) : NULL;
	if (lrc) {
		lasso_refusal(f, lrc, r);
	} else if (lasso_profile_get_signature_status(profile) != 0) {
		/* neither the response nor its assertion carried a good signature */
		lasso_refusal(f, LASSO_DS_ERROR_SIGNATURE_NOT_FOUND, r);
	} else if (!resp || g_list_length(resp->Assertion) != 1 || resp->EncryptedAssertion) {
		extid_fail(f, "invalid_response", "the response must hold one (unencrypted) assertion");
	} else {
		LassoSaml2Assertion *a = resp->Assertion->data;
		err_t crc;
		if (!assertion_check(r, p, idp_id, resp, a, st, f, &crc) &&
		    !assertion_claims(r, p, a, &claims, f))
			rc = E_OK;
		else if (crc)
			rc = crc;
	}
	lasso_login_destroy(login);
	g_object_unref(server);
	return rc ? rc : extid_signin(r, "saml", p->ident, claims, d, f);
}

static err_t saml_acs(req_t *r)
{
	const char *name = req_param(r, "provider");
	const char *ct = req_env(r, "CONTENT_TYPE");
	if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33))
		return req_fail(r, E_UNSUPPORTED_MEDIA, "Content-Type must be application/x-www-form-urlencoded "
				"(the HTTP-POST binding)");
	const char *resp = form_field(r, "SAMLResponse"), *relay = form_field(r, "RelayState");
	if (!resp || !*resp)
		return req_fail_field(r, E_VALIDATION, "SAMLResponse", "SAMLResponse is required");
	if (!relay || !*relay || strlen(relay) > 128)
		return req_fail_field(r, E_VALIDATION, "RelayState", "RelayState is required");
	err_t rc = auth_rate(r, "saml_acs", NULL, RL_SAML);
	if (rc)
		return rc;
	cJSON *st;
	if ((rc = extid_state_take(r, "saml", relay, name, "RelayState", &st)))
		return rc;
	extid_failure_t f = { 0 };
	provider_t p;
	if ((rc = provider_load(r, name, true, &p)))
		extid_fail(&f, "provider_disabled", "the provider is no longer enabled");
	cJSON *d = NULL;
	if (!rc)
		rc = acs_finish(r, &p, resp, st, &d, &f);
	if (rc == E_OK) {
		req_own(r, d);
		return extid_redirect(r, extid_session_url(r, json_str_of(st, "redirect_to"), p.ident, d));
	}
	if (!f.code)
		return rc;    /* not a refusal: a backing service failed */
	r->err_message = NULL;
	r->err_details = NULL;
	err_t arc = extid_refused_audit(r, "saml", name, &f);
	if (arc)
		return arc;
	return req_fail_field(r, strcmp(f.code, MALFORMED) ? E_UNAUTHORIZED : E_VALIDATION, "SAMLResponse",
			      "SAML sign-in refused (%s): %s", f.code, f.desc ? f.desc : "");
}

const route_t saml_routes[] = {
	ROUTE_T("GET", "/v1/auth/saml/:provider/metadata", "SAML / SSO", AUTH_NONE, "", NULL, 0, saml_metadata, NULL, "SAML metadata", TENANT_NAMED, 0),
	ROUTE_T("GET", "/v1/auth/saml/:provider/login", "SAML / SSO", AUTH_NONE, "", NULL, 0, saml_login, NULL, "SAML login redirect", TENANT_NAMED, 0),
	ROUTE_T("POST", "/v1/auth/saml/:provider/acs", "SAML / SSO", AUTH_NONE, "", NULL, 0, saml_acs, NULL, "SAML ACS", TENANT_NAMED, ACS_BODY_MAX),
	ROUTES_END,
};
