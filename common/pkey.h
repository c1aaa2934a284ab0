/*
 * pkey.h - public keys from their raw parts and SHA-256 signature checks,
 * over OpenSSL's libcrypto: the ECDSA P-256 and RSA keys of WebAuthn
 * (COSE, webauthn.c) and of OpenID providers (JWK, jose.c).
 */
#ifndef TESSERA_PKEY_H
#define TESSERA_PKEY_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

/* A P-256 public key from its 32-byte coordinates (NULL if the point is
 * not on the curve).  The caller frees it with EVP_PKEY_free. */
EVP_PKEY *pkey_p256(const unsigned char x[32], const unsigned char y[32]);

/* An RSA public key of at least 2048 bits from its big-endian modulus
 * and exponent (NULL otherwise).  The caller frees it. */
EVP_PKEY *pkey_rsa(const unsigned char *n, size_t nlen, const unsigned char *e, size_t elen);

/* Whether sig is a valid SHA-256 signature of msg by key: ECDSA (ASN.1
 * DER) or RSA PKCS#1 v1.5, as the key's type says. */
bool pkey_verify_sha256(EVP_PKEY *key, const unsigned char *msg, size_t msglen,
			const unsigned char *sig, size_t siglen);

#endif
