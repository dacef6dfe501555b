/*
 * keycmp.c - owns the comparison of presented secrets with configured
 * ones (keycmp.h): HMAC-SHA256 of both with a per-process random key
 * (OpenSSL's RAND_bytes, made once), digests compared with
 * CRYPTO_memcmp, so neither the length of the key nor the position of
 * the first difference shows in the time taken.  Any thread: the random
 * key is made under pthread_once and only read afterwards.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

#include "firebreak/keycmp.h"

static unsigned char mac_key[32];
static int mac_key_ok;
static pthread_once_t mac_once = PTHREAD_ONCE_INIT;

static void make_mac_key(void)
{
	mac_key_ok = RAND_bytes(mac_key, sizeof(mac_key)) == 1;
}

static int digest(const void *data, size_t len, unsigned char out[32])
{
	unsigned int n = 0;
	return HMAC(EVP_sha256(), mac_key, (int)sizeof(mac_key), data, len, out, &n) && n == 32;
}

fb_err fb_keycmp_init(fb_keycmp *k, const char *key)
{
	memset(k, 0, sizeof(*k));
	pthread_once(&mac_once, make_mac_key);
	if (!mac_key_ok)
		return fb_error_set(FB_ERR, "no random bytes for the key comparison (OpenSSL)");
	if (!key || !*key)
		return FB_OK;
	if (!digest(key, strlen(key), k->digest))
		return fb_error_set(FB_ERR, "HMAC-SHA256 failed (OpenSSL)");
	k->set = 1;
	return FB_OK;
}

int fb_keycmp_matches(const fb_keycmp *k, const char *given, size_t len)
{
	unsigned char d[32];

	if (!given || !digest(given, len, d))
		return 0;
	/* computed even when no key is set: the same work either way */
	return (CRYPTO_memcmp(d, k->digest, sizeof(d)) == 0) & (k->set != 0);
}

void fb_keycmp_clear(fb_keycmp *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}
