/*
 * pkey.c - see pkey.h.  Keys are built with OpenSSL 3's EVP_PKEY_fromdata,
 * which checks an EC point against the curve.
 */
#include "pkey.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

/* The key of type ("EC", "RSA") described by the builder's parameters. */
static EVP_PKEY *pkey_from(const char *type, OSSL_PARAM_BLD *bld)
{
	EVP_PKEY *key = NULL;
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	if (!ctx || !params || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		key = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return key;
}

EVP_PKEY *pkey_p256(const unsigned char x[32], const unsigned char y[32])
{
	/* The builder keeps a pointer to the point until pkey_from. */
	unsigned char pt[65];
	pt[0] = 0x04;
	memcpy(pt + 1, x, 32);
	memcpy(pt + 33, y, 32);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY *key = NULL;
	if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)))
		key = pkey_from("EC", bld);
	OSSL_PARAM_BLD_free(bld);
	return key;
}

EVP_PKEY *pkey_rsa(const unsigned char *n, size_t nlen, const unsigned char *e, size_t elen)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL), *be = BN_bin2bn(e, (int)elen, NULL);
	EVP_PKEY *key = NULL;
	if (bld && bn && be && BN_num_bits(bn) >= 2048 && BN_num_bits(bn) <= 8192 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
		key = pkey_from("RSA", bld);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return key;
}

bool pkey_verify_sha256(EVP_PKEY *key, const unsigned char *msg, size_t msglen,
			const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
		  EVP_DigestVerify(md, sig, siglen, msg, msglen) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}
