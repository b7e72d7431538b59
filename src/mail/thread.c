/* Message threading, RFC 5256 sections 2.2, 3 and 4 (thread.h).
 *
 * Both algorithms build one tree: node i is message i, dummies follow,
 * and a last node is the root whose children are the threads. Every
 * walk over it is iterative (parent pointers, explicit stacks), so a
 * deep References chain cannot exhaust the stack. */
#include "mail/thread.h"

#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

#define NONE SIZE_MAX
#define CLOSE (SIZE_MAX - 1) /* on the writer's stack: a ")" */

struct node {
	size_t msg;                 /* index in msgs, NONE for a dummy */
	size_t parent, child, next; /* NONE at the ends */
	bool had_child;             /* step 1: was ever made a parent */
};

/* String -> node, open addressing; keys are not owned. */
struct map_entry {
	const char *key; /* NULL: empty slot */
	size_t len, node;
};

struct map {
	struct map_entry *e;
	size_t cap, used; /* cap: a power of two, 0 before map_grow */
};

struct threader {
	const struct thread_msg *msgs;
	size_t count;
	struct node *nodes;
	size_t node_count, node_cap;
	size_t root;
	struct map ids, subjects;
	char *idspace; /* message IDs, NUL-terminated, one after another */
	size_t idspace_used;
	struct buf id;   /* thread_msgid_next's scratch */
	size_t *refs;    /* one message's references, as nodes */
	size_t refs_cap; /* in entries */
};

bool thread_msgid_next(const char **pos, struct buf *id)
{
	const char *p = *pos;
	for (;;) {
		const char *lt = strchr(p, '<'), *q;
		bool at = false;
		if (lt == NULL)
			break;
		for (q = lt + 1; *q != '\0' && *q != '>' && *q != '<'; q++)
			at |= *q == '@';
		p = *q == '>' ? q + 1 : q;
		if (*q != '>' || !at)
			continue;
		buf_reset(id);
		for (const char *r = lt + 1; r < q; r++) {
			if (strchr(" \t\r\n", *r) == NULL &&
			    buf_append_byte(id, (unsigned char)*r) < 0)
				break;
		}
		*pos = p;
		return id->len > 0 && buf_room(id) > 0;
	}
	*pos = p + strlen(p);
	return false;
}

static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037u; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211u;
	return h;
}

/* The entry for key: its own, or the empty slot where it would go. */
static struct map_entry *map_find(const struct map *m, const char *key,
                                  size_t len)
{
	size_t i = (size_t)hash_bytes(key, len) & (m->cap - 1);
	while (m->e[i].key != NULL &&
	       (m->e[i].len != len || memcmp(m->e[i].key, key, len) != 0))
		i = (i + 1) & (m->cap - 1);
	return &m->e[i];
}

static void map_grow(struct map *m)
{
	struct map old = *m;
	m->cap = old.cap == 0 ? 64 : old.cap * 2;
	m->e = xcalloc(m->cap, sizeof(*m->e));
	for (size_t i = 0; i < old.cap; i++) {
		if (old.e[i].key != NULL)
			*map_find(m, old.e[i].key, old.e[i].len) = old.e[i];
	}
	free(old.e);
}

/* Find key, adding it (for node) if it is not there; the entry. */
static struct map_entry *map_get(struct map *m, const char *key, size_t len,
                                 size_t node)
{
	if (2 * (m->used + 1) > m->cap)
		map_grow(m);
	struct map_entry *e = map_find(m, key, len);
	if (e->key == NULL) {
		*e = (struct map_entry){.key = key, .len = len, .node = node};
		m->used++;
	}
	return e;
}

static size_t new_node(struct threader *t, size_t msg)
{
	if (t->node_count == t->node_cap) {
		t->node_cap = t->node_cap * 2 + 16;
		t->nodes = xrealloc(t->nodes, t->node_cap * sizeof(*t->nodes));
	}
	t->nodes[t->node_count] = (struct node){
	        .msg = msg, .parent = NONE, .child = NONE, .next = NONE};
	return t->node_count++;
}

static void threader_init(struct threader *t, const struct thread_msg *msgs,
                          size_t count)
{
	size_t bytes = 1;
	memset(t, 0, sizeof(*t));
	t->msgs = msgs;
	t->count = count;
	for (size_t i = 0; i < count; i++) {
		new_node(t, i);
		bytes += strlen(msgs[i].message_id) +
		         strlen(msgs[i].in_reply_to) +
		         strlen(msgs[i].references) + 3;
	}
	t->root = new_node(t, NONE);
	map_grow(&t->ids);
	map_grow(&t->subjects);
	/* an ID is never longer than the value it came from */
	t->idspace = xmalloc(bytes);
	buf_init(&t->id, bytes);
}

static void threader_free(struct threader *t)
{
	free(t->nodes);
	free(t->ids.e);
	free(t->subjects.e);
	free(t->idspace);
	free(t->refs);
	buf_free(&t->id);
}

/* The ID in t->id, kept in idspace for the map. */
static const char *keep_id(struct threader *t)
{
	char *s = t->idspace + t->idspace_used;
	memcpy(s, t->id.data, t->id.len);
	s[t->id.len] = '\0';
	t->idspace_used += t->id.len + 1;
	return s;
}

static void add_child(struct threader *t, size_t parent, size_t child)
{
	t->nodes[child].parent = parent;
	t->nodes[child].next = t->nodes[parent].child;
	t->nodes[parent].child = child;
}

static size_t child_count(const struct threader *t, size_t x)
{
	size_t n = 0;
	for (size_t c = t->nodes[x].child; c != NONE; c = t->nodes[c].next)
		n++;
	return n;
}

/* The message whose date and subject stand for x: x, or for a dummy its
 * first child's (section 3 steps 4 to 6). */
static size_t stand_in(const struct threader *t, size_t x)
{
	while (t->nodes[x].msg == NONE && t->nodes[x].child != NONE)
		x = t->nodes[x].child;
	return t->nodes[x].msg;
}

struct sort_entry {
	int64_t date;
	size_t msg, node;
};

/* Section 2.2: by sent date, then by sequence number. */
static int sort_entry_cmp(const void *a, const void *b)
{
	const struct sort_entry *x = a, *y = b;
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->msg < y->msg ? -1 : x->msg > y->msg;
}

static void sort_children(struct threader *t, size_t parent)
{
	size_t n = child_count(t, parent), i = 0;
	if (n < 2)
		return;
	struct sort_entry *v = xcalloc(n, sizeof(*v));
	for (size_t c = t->nodes[parent].child; c != NONE;
	     c = t->nodes[c].next) {
		size_t m = stand_in(t, c);
		v[i++] = (struct sort_entry){.date = m != NONE ? t->msgs[m].date
		                                               : INT64_MAX,
		                             .msg = m,
		                             .node = c};
	}
	qsort(v, n, sizeof(*v), sort_entry_cmp);
	t->nodes[parent].child = v[0].node;
	for (i = 0; i < n; i++)
		t->nodes[v[i].node].next = i + 1 < n ? v[i + 1].node : NONE;
	free(v);
}

/* Section 3 step 6 (and step 4 with only_top): every set of siblings,
 * dummies' children before the top level that a dummy's first child
 * stands in for. */
static void sort_tree(struct threader *t, bool only_top)
{
	for (size_t x = 0; x < t->node_count; x++) {
		bool dummy = t->nodes[x].msg == NONE;
		if (x != t->root && (!only_top || dummy))
			sort_children(t, x);
	}
	sort_children(t, t->root);
}

/* Section 3 step 1: the node of a referenced ID, a dummy when no
 * message has it. */
static size_t id_node(struct threader *t)
{
	struct map_entry *e =
	        map_find(&t->ids, (const char *)t->id.data, t->id.len);
	if (e->key != NULL)
		return e->node;
	size_t dummy = new_node(t, NONE);
	map_get(&t->ids, keep_id(t), t->id.len, dummy);
	return dummy;
}

/* Each message's own ID; a duplicate ID belongs to the first message
 * with it, and the others are left without one (a unique ID). */
static void register_ids(struct threader *t)
{
	for (size_t i = 0; i < t->count; i++) {
		const char *p = t->msgs[i].message_id;
		if (!thread_msgid_next(&p, &t->id))
			continue;
		struct map_entry *e =
		        map_find(&t->ids, (const char *)t->id.data, t->id.len);
		if (e->key == NULL)
			map_get(&t->ids, keep_id(t), t->id.len, i);
	}
}

static void push_ref(struct threader *t, size_t *n, size_t node)
{
	if (*n == t->refs_cap) {
		t->refs_cap = t->refs_cap * 2 + 16;
		t->refs = xrealloc(t->refs, t->refs_cap * sizeof(*t->refs));
	}
	t->refs[(*n)++] = node;
}

/* The message's references as nodes in t->refs: References, or else
 * the first ID of In-Reply-To. */
static size_t gather_refs(struct threader *t, const struct thread_msg *m)
{
	size_t n = 0;
	const char *p = m->references;
	while (thread_msgid_next(&p, &t->id))
		push_ref(t, &n, id_node(t));
	p = m->in_reply_to;
	if (n == 0 && thread_msgid_next(&p, &t->id))
		push_ref(t, &n, id_node(t));
	return n;
}

/* Would making parent the parent of child close a loop? Only if parent
 * is child or below it; a node that never had a child has nothing below
 * it, which spares the walk up for the common case (a new reply). */
static bool makes_loop(const struct threader *t, size_t parent, size_t child)
{
	if (parent != child && !t->nodes[child].had_child)
		return false;
	for (size_t x = parent; x != NONE; x = t->nodes[x].parent) {
		if (x == child)
			return true;
	}
	return false;
}

static void set_parent(struct threader *t, size_t child, size_t parent)
{
	t->nodes[child].parent = parent;
	t->nodes[parent].had_child = true;
}

/* Step 1: parent links only; the child lists are built in step 3. */
static void link_refs(struct threader *t)
{
	register_ids(t);
	for (size_t i = 0; i < t->count; i++) {
		size_t n = gather_refs(t, &t->msgs[i]);
		/* 1.A: a link per pair, never replacing one, never a loop */
		for (size_t k = 0; k + 1 < n; k++) {
			size_t p = t->refs[k], c = t->refs[k + 1];
			if (t->nodes[c].parent == NONE && !makes_loop(t, p, c))
				set_parent(t, c, p);
		}
		/* 1.B: the last reference is the parent, replacing any */
		t->nodes[i].parent = NONE;
		if (n > 0 && !makes_loop(t, t->refs[n - 1], i))
			set_parent(t, i, t->refs[n - 1]);
	}
}

/* Where a dummy's children go when it is pruned: its nearest message
 * ancestor, or the top-level dummy above it. A chain of dummies all go
 * to the same place, which up[] remembers for each. */
static size_t dummy_target(const struct threader *t, size_t d, size_t *up)
{
	size_t x = d, v;
	for (;;) {
		size_t p = t->nodes[x].parent;
		if (up[x] != NONE || p == NONE || t->nodes[p].msg != NONE) {
			v = up[x] != NONE ? up[x] : p == NONE ? x : p;
			break;
		}
		x = p;
	}
	for (x = d; up[x] == NONE; x = t->nodes[x].parent) {
		size_t p = t->nodes[x].parent;
		up[x] = v;
		if (p == NONE || t->nodes[p].msg != NONE)
			break;
	}
	return v;
}

/* Steps 2 and 3: the parentless under the root, and dummies pruned: a
 * dummy's children take its place, except at the top level, where a
 * dummy stays if it has two children or more. */
static void prune(struct threader *t)
{
	size_t *up = xmalloc(t->node_count * sizeof(*up));
	for (size_t x = 0; x < t->node_count; x++) {
		up[x] = NONE;
		t->nodes[x].child = t->nodes[x].next = NONE;
	}
	for (size_t i = 0; i < t->count; i++) {
		size_t p = t->nodes[i].parent;
		if (p != NONE && t->nodes[p].msg == NONE)
			p = dummy_target(t, p, up);
		add_child(t, p == NONE ? t->root : p, i);
	}
	free(up);
	for (size_t d = t->count; d < t->node_count; d++) {
		size_t c = t->nodes[d].child;
		if (d == t->root || t->nodes[d].parent != NONE || c == NONE)
			continue;
		if (t->nodes[c].next == NONE) {
			t->nodes[d].child = NONE;
			add_child(t, t->root, c);
		} else {
			add_child(t, t->root, d);
		}
	}
}

/* A thread's subject (step 5.B.i): its first message's, or "". */
static const char *thread_subject(const struct threader *t, size_t x)
{
	size_t m = stand_in(t, x);
	return m != NONE ? t->msgs[m].subject : "";
}

static bool is_reply(const struct threader *t, size_t x)
{
	return t->nodes[x].msg != NONE && t->msgs[t->nodes[x].msg].reply;
}

static bool is_dummy(const struct threader *t, size_t x)
{
	return t->nodes[x].msg == NONE;
}

/* Step 5.B: one thread per base subject in the subject table. */
static void fill_subjects(struct threader *t, const size_t *top, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t x = top[i];
		const char *subj = thread_subject(t, x);
		if (subj[0] == '\0')
			continue;
		struct map_entry *e =
		        map_get(&t->subjects, subj, strlen(subj), x);
		size_t old = e->node;
		if (!is_dummy(t, old) &&
		    (is_dummy(t, x) || (is_reply(t, old) && !is_reply(t, x))))
			e->node = x;
	}
}

/* Step 5.C.iv: merge the top-level x into the thread the table has,
 * e. The root's child list is rebuilt afterwards from parent links. */
static void merge(struct threader *t, size_t x, struct map_entry *e)
{
	size_t old = e->node;
	if (is_dummy(t, old) && is_dummy(t, x)) {
		size_t c = t->nodes[x].child, next;
		for (; c != NONE; c = next) {
			next = t->nodes[c].next;
			add_child(t, old, c);
		}
		t->nodes[x].child = NONE;
		t->nodes[x].parent = NONE;
	} else if (is_dummy(t, old) || (is_reply(t, x) && !is_reply(t, old))) {
		add_child(t, old, x);
	} else {
		size_t d = new_node(t, NONE);
		add_child(t, d, old);
		add_child(t, d, x);
		t->nodes[d].parent = t->root;
		e->node = d;
	}
}

/* Step 5: threads with the same base subject gathered together. */
static void gather_subjects(struct threader *t)
{
	size_t n = child_count(t, t->root), i = 0, c;
	size_t *top = xmalloc((n + 1) * sizeof(*top));
	for (c = t->nodes[t->root].child; c != NONE; c = t->nodes[c].next)
		top[i++] = c;
	fill_subjects(t, top, n);
	for (i = 0; i < n; i++) {
		size_t x = top[i];
		const char *subj = thread_subject(t, x);
		if (subj[0] == '\0' || t->nodes[x].parent != t->root)
			continue;
		struct map_entry *e =
		        map_find(&t->subjects, subj, strlen(subj));
		if (e->node != x)
			merge(t, x, e);
	}
	/* the root's children: what is still (or newly) at the top */
	t->nodes[t->root].child = NONE;
	for (size_t x = 0; x < t->node_count; x++) {
		if (x != t->root && t->nodes[x].parent == t->root)
			add_child(t, t->root, x);
	}
	free(top);
}

static void thread_references(struct threader *t)
{
	link_refs(t);
	prune(t);
	sort_tree(t, true);
	gather_subjects(t);
	sort_tree(t, false);
}

static int subject_cmp(const void *a, const void *b, void *ctx)
{
	const struct threader *t = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(t->msgs[x].subject, t->msgs[y].subject);
	if (c != 0)
		return c;
	if (t->msgs[x].date != t->msgs[y].date)
		return t->msgs[x].date < t->msgs[y].date ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Section 3, ORDEREDSUBJECT: by base subject and sent date; each
 * subject's first message heads a thread, the others its children. */
static void thread_orderedsubject(struct threader *t)
{
	size_t *order = xmalloc((t->count + 1) * sizeof(*order));
	for (size_t i = 0; i < t->count; i++)
		order[i] = i;
	qsort_r(order, t->count, sizeof(*order), subject_cmp, t);
	size_t head = NONE;
	for (size_t i = 0; i < t->count; i++) {
		size_t x = order[i];
		if (head == NONE ||
		    strcmp(t->msgs[head].subject, t->msgs[x].subject) != 0) {
			head = x;
			add_child(t, t->root, x);
		} else {
			add_child(t, head, x);
		}
	}
	free(order);
	sort_tree(t, false);
}

/* x's thread-members (section 4): a chain of only children as numbers,
 * then the children of a fork, or of a dummy, pushed as nested lists. */
static int write_members(const struct threader *t, size_t x, struct buf *out,
                         size_t *stack, size_t *sp)
{
	for (;;) {
		const struct node *n = &t->nodes[x];
		bool fork = n->child != NONE && t->nodes[n->child].next != NONE;
		if (n->msg != NONE &&
		    buf_printf(out, "%u", t->msgs[n->msg].number) < 0)
			return -1;
		if (n->child == NONE)
			return 0;
		if (n->msg != NONE && buf_append_byte(out, ' ') < 0)
			return -1;
		if (!fork) {
			x = n->child;
			continue;
		}
		size_t k = child_count(t, x), i = 0;
		*sp += k;
		for (size_t c = n->child; c != NONE; c = t->nodes[c].next)
			stack[*sp - 1 - i++] = c;
		return 0;
	}
}

/* "(" thread-members ")" for the thread at top, and what it nests. */
static int write_thread(const struct threader *t, size_t top, struct buf *out,
                        size_t *stack)
{
	size_t sp = 0;
	stack[sp++] = top;
	while (sp > 0) {
		size_t x = stack[--sp];
		if (x == CLOSE) {
			if (buf_append_byte(out, ')') < 0)
				return -1;
			continue;
		}
		stack[sp++] = CLOSE;
		if (buf_append_byte(out, '(') < 0 ||
		    write_members(t, x, out, stack, &sp) < 0)
			return -1;
	}
	return 0;
}

int thread_write(enum thread_algorithm alg, const struct thread_msg *msgs,
                 size_t count, struct buf *out)
{
	struct threader t;
	int ret = 0;
	threader_init(&t, msgs, count);
	if (alg == THREAD_REFERENCES)
		thread_references(&t);
	else
		thread_orderedsubject(&t);
	/* each node is pushed once, with one ")" each */
	size_t *stack = xmalloc(2 * (t.node_count + 1) * sizeof(*stack));
	for (size_t c = t.nodes[t.root].child; c != NONE && ret == 0;
	     c = t.nodes[c].next)
		ret = write_thread(&t, c, out, stack);
	free(stack);
	threader_free(&t);
	return ret;
}
