/* LMTP command lines: see lmtp-parser.h. The grammar is RFC 5321 4.1.2
 * (Path, Mailbox, Local-part, Domain, address literals), read strictly
 * where it matters (nothing but the grammar's characters in a path) and
 * leniently where MTAs are known to differ (spaces after "FROM:", dots
 * in a dot-string). */
#include "lmtp/lmtp-parser.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"

static const struct {
	const char *name;
	enum lmtp_verb verb;
} verbs[] = {
        {"LHLO", LMTP_VERB_LHLO}, {"HELO", LMTP_VERB_HELO},
        {"EHLO", LMTP_VERB_EHLO}, {"MAIL", LMTP_VERB_MAIL},
        {"RCPT", LMTP_VERB_RCPT}, {"DATA", LMTP_VERB_DATA},
        {"RSET", LMTP_VERB_RSET}, {"NOOP", LMTP_VERB_NOOP},
        {"QUIT", LMTP_VERB_QUIT}, {"VRFY", LMTP_VERB_VRFY},
        {"HELP", LMTP_VERB_HELP},
};

enum lmtp_verb lmtp_parse_verb(const char *line, const char **args_r)
{
	size_t n = strcspn(line, " ");
	const char *args = line + n;
	while (*args == ' ')
		args++;
	*args_r = args;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (n == 4 && strncasecmp(line, verbs[i].name, 4) == 0)
			return verbs[i].verb;
	}
	return LMTP_VERB_UNKNOWN;
}

/* RFC 5322 atext */
static bool is_atext(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static bool is_domain_char(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_';
}

/* A domain (sub-domains of letters, digits and hyphens; '_' tolerated)
 * or an address literal "[...]" of s[0..len). */
static bool domain_valid(const char *s, size_t len)
{
	if (len == 0 || len > LMTP_DOMAIN_MAX_BYTES)
		return false;
	if (s[0] == '[') {
		if (len < 3 || s[len - 1] != ']')
			return false;
		for (size_t i = 1; i < len - 1; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c < 33 || c > 126 || c == '[' || c == ']' ||
			    c == '\\')
				return false;
		}
		return true;
	}
	if (s[0] == '.' || s[0] == '-' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!is_domain_char((unsigned char)s[i]) ||
		    (s[i] == '.' && s[i + 1] == '.'))
			return false;
	}
	return true;
}

bool lmtp_domain_valid(const char *s)
{
	return domain_valid(s, strlen(s));
}

/* A quoted local part at *pp: its unquoted text into local (room for
 * LMTP_PATH_MAX_BYTES and a NUL). */
static enum lmtp_parse_result parse_quoted(const char **pp, char *local,
                                           size_t *n_r)
{
	const char *p = *pp + 1;
	size_t n = 0;
	for (;; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"')
			break;
		if (c == '\\')
			c = (unsigned char)*++p;
		if (c < 32 || c > 126)
			return LMTP_PARSE_BAD_PATH;
		if (n == LMTP_PATH_MAX_BYTES)
			return LMTP_PARSE_PATH_TOO_LONG;
		local[n++] = (char)c;
	}
	*pp = p + 1;
	*n_r = n;
	return n > 0 ? LMTP_PARSE_OK : LMTP_PARSE_BAD_PATH;
}

static enum lmtp_parse_result parse_dot_string(const char **pp, char *local,
                                               size_t *n_r)
{
	const char *p = *pp;
	size_t n = 0;
	while (is_atext((unsigned char)*p) || *p == '.') {
		if (n == LMTP_PATH_MAX_BYTES)
			return LMTP_PARSE_PATH_TOO_LONG;
		local[n++] = *p++;
	}
	*pp = p;
	*n_r = n;
	return n > 0 ? LMTP_PARSE_OK : LMTP_PARSE_BAD_PATH;
}

/* An old-style source route "@a,@b:" is skipped (RFC 5321 4.1.2: it
 * MUST be accepted and SHOULD be ignored). */
static bool skip_route(const char **pp)
{
	const char *p = *pp;
	if (*p != '@')
		return true;
	while (*p == '@' || *p == ',' || is_domain_char((unsigned char)*p))
		p++;
	if (*p != ':')
		return false;
	*pp = p + 1;
	return true;
}

/* The mailbox inside the brackets, from *pp up to the closing '>'. */
static enum lmtp_parse_result parse_mailbox(const char **pp,
                                            struct lmtp_path *path)
{
	const char *p = *pp, *start;
	size_t n;
	if (!skip_route(&p))
		return LMTP_PARSE_BAD_PATH;
	start = p;
	enum lmtp_parse_result ret =
	        *p == '"' ? parse_quoted(&p, path->local, &n)
	                  : parse_dot_string(&p, path->local, &n);
	if (ret != LMTP_PARSE_OK)
		return ret;
	path->local[n] = '\0';
	if (*p == '@') {
		const char *dom = ++p;
		p += strcspn(p, ">");
		if ((size_t)(p - start) > LMTP_PATH_MAX_BYTES)
			return LMTP_PARSE_PATH_TOO_LONG;
		if (!domain_valid(dom, (size_t)(p - dom)))
			return LMTP_PARSE_BAD_PATH;
		memcpy(path->domain, dom, (size_t)(p - dom));
		path->domain[p - dom] = '\0';
	}
	if (*p != '>')
		return LMTP_PARSE_BAD_PATH;
	if ((size_t)(p - start) > LMTP_PATH_MAX_BYTES)
		return LMTP_PARSE_PATH_TOO_LONG;
	memcpy(path->addr, start, (size_t)(p - start));
	path->addr[p - start] = '\0';
	*pp = p + 1;
	return LMTP_PARSE_OK;
}

/* "<...>" at *pp. Nothing is copied past LMTP_PATH_MAX_BYTES. */
static enum lmtp_parse_result parse_path(const char **pp, bool allow_null,
                                         struct lmtp_path *path)
{
	const char *p = *pp;
	memset(path, 0, sizeof(*path));
	if (*p != '<')
		return LMTP_PARSE_SYNTAX;
	if (p[1] == '>') {
		if (!allow_null)
			return LMTP_PARSE_BAD_PATH;
		path->null = true;
		*pp = p + 2;
		return LMTP_PARSE_OK;
	}
	p++;
	enum lmtp_parse_result ret = parse_mailbox(&p, path);
	if (ret == LMTP_PARSE_OK && (size_t)(p - *pp) > LMTP_PATH_MAX_BYTES)
		ret = LMTP_PARSE_PATH_TOO_LONG;
	*pp = p;
	return ret;
}

/* "FROM:" / "TO:" and the spaces some clients put after it. */
static const char *skip_keyword(const char *args, const char *kw)
{
	size_t n = strlen(kw);
	if (strncasecmp(args, kw, n) != 0)
		return NULL;
	args += n;
	while (*args == ' ')
		args++;
	return args;
}

/* One "KEY[=VALUE]" of MAIL's parameters, s[0..len). */
static enum lmtp_parse_result mail_param(const char *s, size_t len,
                                         struct lmtp_mail_params *params)
{
	char value[32];
	const char *eq = memchr(s, '=', len);
	size_t klen = eq != NULL ? (size_t)(eq - s) : len;
	size_t vlen = eq != NULL ? len - klen - 1 : 0;
	bool size = klen == 4 && strncasecmp(s, "SIZE", 4) == 0;
	bool body = klen == 4 && strncasecmp(s, "BODY", 4) == 0;
	if (!size && !body)
		return LMTP_PARSE_UNKNOWN_PARAM;
	if (eq == NULL || vlen == 0 || vlen >= sizeof(value))
		return LMTP_PARSE_BAD_PARAM;
	memcpy(value, eq + 1, vlen);
	value[vlen] = '\0';
	if (size) {
		if (params->has_size ||
		    parse_uint(value, 0, UINT64_MAX, &params->size) < 0)
			return LMTP_PARSE_BAD_PARAM;
		params->has_size = true;
		return LMTP_PARSE_OK;
	}
	if (params->body != LMTP_BODY_UNSPECIFIED)
		return LMTP_PARSE_BAD_PARAM;
	if (strcasecmp(value, "7BIT") == 0)
		params->body = LMTP_BODY_7BIT;
	else if (strcasecmp(value, "8BITMIME") == 0)
		params->body = LMTP_BODY_8BITMIME;
	else
		return LMTP_PARSE_BAD_PARAM;
	return LMTP_PARSE_OK;
}

/* Parameters after a path: nothing, or spaces and KEY[=VALUE] items. */
static enum lmtp_parse_result parse_params(const char *p,
                                           struct lmtp_mail_params *params)
{
	if (*p != '\0' && *p != ' ')
		return LMTP_PARSE_SYNTAX;
	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return LMTP_PARSE_OK;
		size_t n = strcspn(p, " ");
		if (params == NULL)
			return LMTP_PARSE_UNKNOWN_PARAM;
		enum lmtp_parse_result ret = mail_param(p, n, params);
		if (ret != LMTP_PARSE_OK)
			return ret;
		p += n;
	}
}

enum lmtp_parse_result lmtp_parse_mail(const char *args, struct lmtp_path *path,
                                       struct lmtp_mail_params *params)
{
	memset(params, 0, sizeof(*params));
	const char *p = skip_keyword(args, "FROM:");
	if (p == NULL)
		return LMTP_PARSE_SYNTAX;
	enum lmtp_parse_result ret = parse_path(&p, true, path);
	if (ret != LMTP_PARSE_OK)
		return ret;
	return parse_params(p, params);
}

enum lmtp_parse_result lmtp_parse_rcpt(const char *args, struct lmtp_path *path)
{
	const char *p = skip_keyword(args, "TO:");
	if (p == NULL)
		return LMTP_PARSE_SYNTAX;
	enum lmtp_parse_result ret = parse_path(&p, false, path);
	if (ret != LMTP_PARSE_OK)
		return ret;
	if (path->domain[0] == '\0' &&
	    strcasecmp(path->local, "postmaster") != 0)
		return LMTP_PARSE_BAD_PATH;
	return parse_params(p, NULL);
}
