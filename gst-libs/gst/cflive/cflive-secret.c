/* gst-cflive
 * Copyright (C) 2026 gst-cflive developers
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 *
 * This library is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU
 * Library General Public License for more details.
 *
 * You should have received a copy of the GNU Library General Public
 * License along with this library; if not, write to the
 * Free Software Foundation, Inc., 51 Franklin St, Fifth Floor,
 * Boston, MA 02110-1301, USA.
 */

/**
 * SECTION:cflive-secret
 * @title: Secrets
 * @short_description: constant-time comparison and redaction of stream keys
 *
 * Stream keys, SRT passphrases and API tokens are compared in constant time
 * and never logged whole: gst_cflive_secret_redact() gives the form that may
 * appear in logs and messages.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <gio/gio.h>

#include "cflive-secret.h"

/**
 * gst_cflive_secret_equal:
 * @secret: (nullable): the expected secret
 * @given: (nullable): what a peer sent
 *
 * Compares @given with @secret in time that depends only on the length of
 * @given, whatever the contents of either and the length of @secret.
 *
 * Returns: %TRUE if both are set and equal
 */
gboolean
gst_cflive_secret_equal (const gchar * secret, const gchar * given)
{
  gsize slen, glen, i;
  guint diff;

  if (secret == NULL || given == NULL)
    return FALSE;

  slen = strlen (secret);
  glen = strlen (given);
  diff = (slen != glen) | (slen == 0);

  for (i = 0; i < glen; i++) {
    /* index into the secret without branching on its length */
    guint8 s = (guint8) secret[i % (slen ? slen : 1)];
    diff |= s ^ (guint8) given[i];
  }

  return diff == 0;
}

/**
 * gst_cflive_secret_redact:
 * @secret: (nullable): a stream key, passphrase or token
 *
 * Keys of the form `<32 hex>k<uid>` keep their non-secret uid part:
 * `****k<uid>`; any other secret shows only its length.
 *
 * Returns: (transfer full): a string safe to log
 */
gchar *
gst_cflive_secret_redact (const gchar * secret)
{
  const gchar *k;
  gsize len;

  if (secret == NULL)
    return g_strdup ("(none)");

  len = strlen (secret);
  k = strchr (secret, 'k');
  if (k && k - secret == 32 && k[1] != '\0')
    return g_strdup_printf ("****k%s", k + 1);

  return g_strdup_printf ("(%" G_GSIZE_FORMAT " characters)", len);
}

/**
 * gst_cflive_secret_new_hex:
 * @n_bytes: how many random bytes
 *
 * Returns: (transfer full): @n_bytes from the operating system's
 * cryptographic random source, as lowercase hex
 */
gchar *
gst_cflive_secret_new_hex (guint n_bytes)
{
  guint8 *buf = g_alloca (n_bytes);
  GString *s = g_string_sized_new (n_bytes * 2 + 1);
  gsize done = 0;
  guint i;
  GFile *file;
  GFileInputStream *in;

  /* /dev/urandom through GIO so that a failure is reported, not ignored */
  file = g_file_new_for_path ("/dev/urandom");
  in = g_file_read (file, NULL, NULL);
  g_object_unref (file);
  if (in == NULL ||
      !g_input_stream_read_all (G_INPUT_STREAM (in), buf, n_bytes, &done,
          NULL, NULL) || done != n_bytes)
    g_error ("cannot read the system random source");
  g_object_unref (in);

  for (i = 0; i < n_bytes; i++)
    g_string_append_printf (s, "%02x", buf[i]);
  memset (buf, 0, n_bytes);
  return g_string_free (s, FALSE);
}
