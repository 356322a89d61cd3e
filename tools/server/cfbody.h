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

#ifndef __CF_BODY_H__
#define __CF_BODY_H__

#include <json-glib/json-glib.h>

#include "cfstore.h"

G_BEGIN_DECLS

/* Request bodies of the API: parsing and checking, with messages that name
 * the member and say what was expected. Nothing here keeps state; a body
 * that fails leaves what it was applied to half-changed, so callers apply
 * it to a copy. */

/* a JSON object (an empty body gives {} when @allow_empty) or NULL */
JsonNode *cf_body_parse (const gchar * data, gsize len, gboolean allow_empty,
    GError ** error);

/* the members of a live input (POST and PUT /live_inputs): those given
 * replace the values of @input, others are left; unknown ones ignored */
gboolean cf_body_apply_input (CfInput * input, JsonObject * o,
    GError ** error);

/* the members of a Video that POST /stream/{uid} changes (creator, meta,
 * requireSignedURLs, allowedOrigins) go to @overrides; others that
 * Cloudflare documents but this server cannot honour are refused, unknown
 * ones ignored */
gboolean cf_body_apply_video (JsonObject * overrides, JsonObject * o,
    GError ** error);

/* an output destination: rtmp://, rtmps:// or srt:// with a host (and a
 * port for srt://) */
gboolean cf_body_valid_output_url (const gchar * url, GError ** error);

const gchar *cf_body_type_name (JsonNode * n);
gboolean cf_body_is_bool (JsonNode * n);
gboolean cf_body_is_string (JsonNode * n);
gboolean cf_body_is_number (JsonNode * n);

G_END_DECLS

#endif /* __CF_BODY_H__ */
