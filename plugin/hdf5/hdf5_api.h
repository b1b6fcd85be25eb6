/* hdf5_api.h: the one place that says how the filter and the reader reach HDF5: a table of every HDF5 function and id they use. */
#ifndef H5IMG_HDF5_API_H
#define H5IMG_HDF5_API_H

#include <hdf5.h>

/* X(return type, name, parameters) for each HDF5 function the filter or the reader calls.
 * Only functions that HDF5 1.10, 1.12, 1.14 and 2.x all export with these
 * signatures, under their versioned names (no API-compatibility macros). */
#define H5IMG_HDF5_FUNCTIONS(X)                                                                                    \
    X(herr_t, H5open, (void))                                                                                      \
    X(herr_t, H5Epush2, (hid_t, const char *, const char *, unsigned, hid_t, hid_t, hid_t, const char *, ...))     \
    X(H5T_class_t, H5Tget_class, (hid_t))                                                                          \
    X(size_t, H5Tget_size, (hid_t))                                                                                \
    X(H5T_sign_t, H5Tget_sign, (hid_t))                                                                            \
    X(H5T_order_t, H5Tget_order, (hid_t))                                                                          \
    X(H5D_layout_t, H5Pget_layout, (hid_t))                                                                        \
    X(int, H5Pget_chunk, (hid_t, int, hsize_t *))                                                                  \
    X(herr_t, H5Pget_filter_by_id2,                                                                                \
      (hid_t, H5Z_filter_t, unsigned *, size_t *, unsigned *, size_t, char *, unsigned *))                         \
    X(herr_t, H5Pmodify_filter, (hid_t, H5Z_filter_t, unsigned, size_t, const unsigned *))                         \
    X(void *, H5allocate_memory, (size_t, hbool_t))                                                                \
    X(herr_t, H5free_memory, (void *))                                                                             \
    H5IMG_HDF5_READER_FUNCTIONS(X)

/* The rest of the list: what the parallel reader (plugin/reader) calls. */
#define H5IMG_HDF5_READER_FUNCTIONS(X)                                                                             \
    X(hid_t, H5Dopen2, (hid_t, const char *, hid_t))                                                               \
    X(herr_t, H5Dclose, (hid_t))                                                                                   \
    X(hid_t, H5Dget_space, (hid_t))                                                                                \
    X(hid_t, H5Dget_type, (hid_t))                                                                                 \
    X(hid_t, H5Dget_create_plist, (hid_t))                                                                         \
    X(herr_t, H5Dread, (hid_t, hid_t, hid_t, hid_t, hid_t, void *))                                                \
    X(int, H5Sget_simple_extent_ndims, (hid_t))                                                                    \
    X(int, H5Sget_simple_extent_dims, (hid_t, hsize_t *, hsize_t *))                                               \
    X(herr_t, H5Sclose, (hid_t))                                                                                   \
    X(herr_t, H5Tclose, (hid_t))                                                                                   \
    X(herr_t, H5Pclose, (hid_t))                                                                                   \
    X(int, H5Pget_nfilters, (hid_t))                                                                               \
    X(H5Z_filter_t, H5Pget_filter2,                                                                                \
      (hid_t, unsigned, unsigned *, size_t *, unsigned *, size_t, char *, unsigned *))                             \
    X(herr_t, H5Ewalk2, (hid_t, H5E_direction_t, H5E_walk2_t, void *))                                             \
    X(herr_t, H5Eget_auto2, (hid_t, H5E_auto2_t *, void **))                                                       \
    X(herr_t, H5Eset_auto2, (hid_t, H5E_auto2_t, void *))

/* X(return type, table member, symbol, parameters): functions the table may
 * lack (the member is then NULL), because not every HDF5 the filter serves
 * exports them under one name and signature. Only the reader calls them, for
 * repacked frames, and says so when one is missing; the filter works without.
 * - H5Dget_chunk_storage_size and H5Dread_chunk first appeared in 1.10.2.
 * - HDF5 2.0 versioned H5Dread_chunk: its library exports H5Dread_chunk1
 *   (the old five parameters, deprecated) and H5Dread_chunk2 (a sixth, the
 *   buffer's size), and "H5Dread_chunk" is only a macro in its headers.
 *   So the five-parameter form is the member H5Dread_chunk1, bound to the
 *   symbol H5Dread_chunk of HDF5 1.x only, and the member H5Dread_chunk2 is
 *   bound to H5Dread_chunk2 of HDF5 2.x only: the library's major version
 *   decides, never which names happen to resolve. h5img_hdf5_read_chunk()
 *   calls whichever one is bound.
 * hdf5_linked.c and complete_filter_table() in hdf5_runtime.c set each of
 * these by name: a new entry needs a line in both. */
#define H5IMG_HDF5_OPTIONAL_FUNCTIONS(X)                                                                           \
    X(herr_t, H5Dget_chunk_storage_size, H5Dget_chunk_storage_size, (hid_t, const hsize_t *, hsize_t *))           \
    X(herr_t, H5Dread_chunk1, H5Dread_chunk, (hid_t, hid_t, const hsize_t *, uint32_t *, void *))                  \
    X(herr_t, H5Dread_chunk2, H5Dread_chunk2, (hid_t, hid_t, const hsize_t *, uint32_t *, void *, size_t *))

/* The error class and message ids the filter pushes with: HDF5's global
 * variables of these names, whose values are valid once H5open has run. */
#define H5IMG_HDF5_ERROR_IDS(X) X(H5E_ERR_CLS_g) X(H5E_PLINE_g) X(H5E_CANAPPLY_g) X(H5E_SETLOCAL_g) X(H5E_CANTFILTER_g)

/* The datatype ids the reader reads with, HDF5's global variables behind
 * the H5T_NATIVE_* macros (which are not constants but these variables,
 * set by H5open): like the error ids, taken as values once H5open has run. */
#define H5IMG_HDF5_TYPE_IDS(X) X(H5T_NATIVE_UCHAR_g)

#define H5IMG_HDF5_PATH_SIZE 512

/* One HDF5 library as the filter sees it. Members carry HDF5's own names. */
typedef struct h5img_hdf5 {
#define H5IMG_HDF5_MEMBER(type, name, parameters) type(*name) parameters;
    H5IMG_HDF5_FUNCTIONS(H5IMG_HDF5_MEMBER)
#undef H5IMG_HDF5_MEMBER
#define H5IMG_HDF5_OPTIONAL_MEMBER(type, name, symbol, parameters) type(*name) parameters;
    H5IMG_HDF5_OPTIONAL_FUNCTIONS(H5IMG_HDF5_OPTIONAL_MEMBER)
#undef H5IMG_HDF5_OPTIONAL_MEMBER
#define H5IMG_HDF5_ID_MEMBER(name) hid_t name;
    H5IMG_HDF5_ERROR_IDS(H5IMG_HDF5_ID_MEMBER)
    H5IMG_HDF5_TYPE_IDS(H5IMG_HDF5_ID_MEMBER)
#undef H5IMG_HDF5_ID_MEMBER
    unsigned version[3];             /* that library's version (from H5_lib_vers_info_g: see hdf5_runtime.c) */
    char path[H5IMG_HDF5_PATH_SIZE]; /* the file it was found in, or "linked" */
} h5img_hdf5;

/* Read the raw (still filtered) chunk at `offset` into `buffer` of `size`
 * bytes through whichever H5Dread_chunk the table has (see
 * H5IMG_HDF5_OPTIONAL_FUNCTIONS). Returns HDF5's result; -2 when this HDF5
 * has neither; -3 when HDF5 2.x says the chunk needs more than `size` bytes
 * (it then reads nothing and succeeds). */
static inline herr_t h5img_hdf5_read_chunk(const h5img_hdf5 *api, hid_t dataset, const hsize_t *offset,
                                           uint32_t *filters, void *buffer, size_t size)
{
    if (api->H5Dread_chunk2) {
        size_t needed = size;
        herr_t status = api->H5Dread_chunk2(dataset, H5P_DEFAULT, offset, filters, buffer, &needed);
        return status >= 0 && needed > size ? -3 : status;
    }
    if (api->H5Dread_chunk1) return api->H5Dread_chunk1(dataset, H5P_DEFAULT, offset, filters, buffer);
    return -2;
}

/* The library the filter talks to: in the linkable library the HDF5 it was
 * linked with; in the loadable plugin the one h5img_hdf5_bind found, and NULL
 * until then (HDF5 cannot call a filter callback before the plugin's entry
 * points have returned, and they bind first). */
const h5img_hdf5 *h5img_hdf5_api(void);

/* Loadable plugin only (hdf5_runtime.c): bind, once per process, to the HDF5
 * library containing the code address `caller` (the return address of an H5PL
 * entry point, which that library called), reached through dladdr() and
 * dlopen(RTLD_NOLOAD) so that a library loaded with RTLD_LOCAL (a Python
 * wheel's) is found; only when `caller` lies in no library that exports HDF5
 * does it fall back to the process's global symbol scope. Returns 0 when
 * bound (or already bound to the same library), -1 with the reason in `why`
 * when no complete HDF5 was found or a different library is already bound;
 * it never binds to a library it cannot fully resolve. */
int h5img_hdf5_bind(const void *caller, char *why, size_t why_size);

/* The mechanism under h5img_hdf5_bind, for any loadable library of h5img
 * (the filter plugin, the VOL connector) with its own list of HDF5 symbols:
 * the same search for the caller's HDF5, the same once-per-process binding
 * and the same refusal of a second HDF5. A binding is a static object: */
typedef struct h5img_hdf5_binding h5img_hdf5_binding;
struct h5img_hdf5_binding {
    const char *who;           /* "plugin", "VOL connector": for messages */
    const char *needs;         /* the HDF5 it needs, for messages: "HDF5 1.10 or newer" */
    const char *const *names;  /* the functions and variables to resolve */
    size_t count;
    void **addresses;          /* count slots, filled in the order of names */
    /* Functions looked up as well but allowed to be missing (NULL in
     * optional_addresses): complete() decides what their absence means. */
    const char *const *optional_names;
    size_t optional_count;
    void **optional_addresses;
    /* names[variables_from..] are variables, not functions (0: none are
     * treated so). A program that reads an HDF5 variable directly (h5ls
     * reads H5T_NATIVE_UINT8_g) gets a copy relocation: the live variable is
     * then the program's copy, and the library's own storage stays at its
     * initial value. For these names such a copy is preferred. */
    size_t variables_from;
    /* Called once every name resolved and `version` read, before the
     * binding counts as bound: takes what it needs from `addresses`; -1 with
     * the reason in `why` refuses the library. It runs while HDF5 may be in
     * the middle of a failing call (loading plugins to look for a VOL
     * connector): an API function that clears the error stack would lose
     * that call's errors, so it calls none it does not have to. */
    int (*complete)(h5img_hdf5_binding *binding, char *why, size_t why_size);
    unsigned version[3]; /* from the library's H5_lib_vers_info_g */
    char path[H5IMG_HDF5_PATH_SIZE]; /* the library bound to */
    int bound;                       /* 1 once complete; read with acquire ordering */
};

/* Bind `binding` to the HDF5 library of `caller` (as h5img_hdf5_bind does),
 * serialised with every other binding of this library. */
int h5img_hdf5_bind_list(h5img_hdf5_binding *binding, const void *caller, char *why, size_t why_size);

/* Non-zero once h5img_hdf5_bind_list succeeded for `binding`. */
int h5img_hdf5_is_bound(const h5img_hdf5_binding *binding);

#endif /* H5IMG_HDF5_API_H */
