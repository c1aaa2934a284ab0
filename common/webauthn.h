/*
 * webauthn.h - the cryptographic half of a WebAuthn Level 2 relying party:
 * authenticator data, COSE public keys, attestation objects (formats
 * "none" and "packed", self and x5c) and assertion signatures.
 *
 * CBOR is parsed with libcbor; ES256 and RS256 are verified with OpenSSL's
 * libcrypto, EdDSA (Ed25519) with libsodium.  Nothing here knows of
 * requests, tenants or clientDataJSON: the caller checks the challenge,
 * origin and type of the client data, hashes it, and hands the hash in.
 *
 * Every function returns 0 on success or -1 with *why set to a short,
 * static explanation fit for an API error message.
 */
#ifndef TESSERA_WEBAUTHN_H
#define TESSERA_WEBAUTHN_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

/* COSE algorithm identifiers (RFC 9053, RFC 8812). */
enum { COSE_ES256 = -7, COSE_EDDSA = -8, COSE_RS256 = -257 };

/* Authenticator data flags. */
enum {
	WA_FLAG_UP = 0x01,  /* user present */
	WA_FLAG_UV = 0x04,  /* user verified */
	WA_FLAG_BE = 0x08,  /* backup eligible */
	WA_FLAG_BS = 0x10,  /* backed up */
	WA_FLAG_AT = 0x40,  /* attested credential data included */
	WA_FLAG_ED = 0x80,  /* extension data included */
};

/* Parsed authenticator data; the pointers point into the parsed buffer. */
typedef struct wa_authdata {
	const unsigned char *rp_id_hash;  /* 32 bytes */
	unsigned flags;
	unsigned long sign_count;
	/* with WA_FLAG_AT: */
	unsigned char aaguid[16];
	const unsigned char *cred_id;
	size_t cred_id_len;
	const unsigned char *cose_key;
	size_t cose_key_len;
} wa_authdata_t;

/* Parses authenticator data of len bytes (attested credential data and
 * extensions included when their flags say so; nothing may follow). */
int webauthn_authdata_parse(const unsigned char *data, size_t len, wa_authdata_t *out,
			    const char **why);

/* Checks that a COSE public key is well formed and of a supported
 * algorithm (ES256 on P-256, EdDSA on Ed25519, RS256 of 2048 bits or
 * more); *alg receives the algorithm. */
int webauthn_cose_check(const unsigned char *key, size_t len, long *alg, const char **why);

/* Verifies sig over msg with a COSE public key (ES256 signatures are
 * ASN.1 DER, as WebAuthn sends them). */
int webauthn_cose_verify(const unsigned char *key, size_t keylen, const unsigned char *msg,
			 size_t msglen, const unsigned char *sig, size_t siglen, const char **why);

/* A verified attestation: what the relying party stores. */
typedef struct wa_attestation {
	char fmt[16];                  /* "none" or "packed" */
	bool x5c;                      /* packed with a certificate chain */
	unsigned char *auth_data;      /* a copy, in the arena */
	size_t auth_data_len;
	wa_authdata_t ad;              /* points into auth_data */
	long alg;                      /* the credential key's algorithm */
} wa_attestation_t;

/*
 * Parses an attestation object (CBOR {fmt, attStmt, authData}) and
 * verifies its statement over authData || client_data_hash: "none" must
 * have an empty statement; "packed" is verified with the credential's own
 * key (self attestation, whose alg must match it) or with the first
 * certificate of x5c (a version 3 leaf, not a CA, OU "Authenticator
 * Attestation", whose AAGUID extension, if any, matches).  The trust
 * chain of x5c is not evaluated (no metadata service).  The authenticator
 * data must carry an attested credential with a supported key.
 */
int webauthn_attestation_verify(arena_t *a, const unsigned char *obj, size_t len,
				const unsigned char client_data_hash[32], wa_attestation_t *out,
				const char **why);

/* The AAGUID as its canonical 36-character UUID text. */
void webauthn_aaguid_text(const unsigned char aaguid[16], char out[37]);

#endif
