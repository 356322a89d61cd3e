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

/* libFuzzer target: request bodies of cflive-server's API (the JSON parse,
 * the members of a live input, and an output's destination URL), as they
 * arrive from the network. */

#include <stddef.h>
#include <stdint.h>

#include "cfbody.h"

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  JsonNode *root;
  JsonObject *o, *video;
  JsonNode *url;
  CfInput *in;
  GError *err = NULL;

  root = cf_body_parse ((const gchar *) data, size, TRUE, &err);
  if (!root) {
    g_clear_error (&err);
    return 0;
  }
  o = json_node_get_object (root);

  in = cf_input_new ();
  if (!cf_body_apply_input (in, o, &err))
    g_clear_error (&err);
  cf_input_free (in);

  video = json_object_new ();
  if (!cf_body_apply_video (video, o, &err))
    g_clear_error (&err);
  json_object_unref (video);

  url = json_object_get_member (o, "url");
  if (url && cf_body_is_string (url) &&
      !cf_body_valid_output_url (json_node_get_string (url), &err))
    g_clear_error (&err);

  json_node_unref (root);
  return 0;
}
