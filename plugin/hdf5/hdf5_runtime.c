/* hdf5_runtime.c: binds a loadable library's list of HDF5 symbols, at load time, to the HDF5 library that loaded it; the filter's table is one such list. */
#define _GNU_SOURCE /* dladdr, RTLD_DEFAULT */
#include "hdf5/hdf5_api.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t bind_lock = PTHREAD_MUTEX_INITIALIZER;

/* ------------------------------------------------------------------------- */
/* Any list of names                                                         */
/* ------------------------------------------------------------------------- */

int h5img_hdf5_is_bound(const h5img_hdf5_binding *binding)
{
    return __atomic_load_n(&binding->bound, __ATOMIC_ACQUIRE);
}

/* The copy of variable `name` that the program holds through a copy
 * relocation, which is then the one HDF5 itself reads and writes; NULL
 * when there is none (or the global definition is another HDF5's own). */
static void *program_copy(const char *name, const void *library_address)
{
    void *global = dlsym(RTLD_DEFAULT, name);
    Dl_info holder, open_holder;
    if (!global || global == library_address || !dladdr(global, &holder)) return NULL;
    void *global_open = dlsym(RTLD_DEFAULT, "H5open");
    int another_hdf5 = global_open && dladdr(global_open, &open_holder) && open_holder.dli_fbase == holder.dli_fbase;
    return another_hdf5 ? NULL : global;
}

/* Every name from `handle` into `addresses`, or -1 naming the first one
 * missing. POSIX dlsym returns data and function addresses alike as void *. */
static int resolve_names(void *handle, const char *where, const h5img_hdf5_binding *binding, void **addresses,
                         char *why, size_t why_size)
{
    for (size_t i = 0; i < binding->count; i++) {
        addresses[i] = dlsym(handle, binding->names[i]);
        if (addresses[i] && binding->variables_from && i >= binding->variables_from) {
            void *copy = program_copy(binding->names[i], addresses[i]);
            if (copy) addresses[i] = copy;
        }
        if (!addresses[i]) {
            snprintf(why, why_size, "%s has no %s, so it is not an HDF5 library h5img can use (%s)", where,
                     binding->names[i], binding->needs);
            return -1;
        }
    }
    return 0;
}

/* The file holding `address`, as the dynamic loader knows it; 0 if none. */
static int file_of(const void *address, char *path, size_t path_size)
{
    Dl_info info;
    if (!address || !dladdr(address, &info) || !info.dli_fname || !info.dli_fname[0]) return 0;
    snprintf(path, path_size, "%s", info.dli_fname);
    return 1;
}

/* Not H5get_libversion(): like every API function that is not NOPUSH it
 * clears the error stack, and HDF5 1.14 and later load plugins in the
 * middle of failing calls (H5Fopen of a missing file searches the plugin
 * path for a VOL connector), whose errno entries h5py turns into
 * FileNotFoundError. The library's version string says the same and
 * reading it calls nothing. */
static int read_version(void *handle, const char *where, unsigned *version, char *why, size_t why_size)
{
    const char *version_text = dlsym(handle, "H5_lib_vers_info_g");
    if (!version_text ||
        sscanf(version_text, "HDF5 library version: %u.%u.%u", &version[0], &version[1], &version[2]) != 3) {
        snprintf(why, why_size, "%s has no readable H5_lib_vers_info_g, so it is not an HDF5 library h5img can use",
                 where);
        return -1;
    }
    return 0;
}

/* Resolve into `addresses`, then let the binding take them. */
static int take_library(h5img_hdf5_binding *binding, void *handle, const char *where, char *why, size_t why_size)
{
    void **addresses = calloc(binding->count ? binding->count : 1, sizeof *addresses);
    if (!addresses) {
        snprintf(why, why_size, "out of memory binding the %s to %s", binding->who, where);
        return -1;
    }
    int status = resolve_names(handle, where, binding, addresses, why, why_size);
    if (status == 0) status = read_version(handle, where, binding->version, why, why_size);
    for (size_t i = 0; status == 0 && i < binding->optional_count; i++)
        binding->optional_addresses[i] = dlsym(handle, binding->optional_names[i]);
    if (status == 0) {
        memcpy(binding->addresses, addresses, binding->count * sizeof *addresses);
        snprintf(binding->path, sizeof binding->path, "%s", where); /* for complete()'s messages */
        status = binding->complete(binding, why, why_size);
    }
    free(addresses);
    return status;
}

static int bind_unlocked(h5img_hdf5_binding *binding, const void *caller, char *why, size_t why_size)
{
    char caller_path[H5IMG_HDF5_PATH_SIZE] = "";
    int caller_known = file_of(caller, caller_path, sizeof caller_path);

    if (binding->bound) {
        if (!caller_known || strcmp(caller_path, binding->path) == 0) return 0;
        /* Another library whose code has no H5open is not a second HDF5. */
        void *other = dlopen(caller_path, RTLD_LAZY | RTLD_NOLOAD);
        int is_hdf5 = other && dlsym(other, "H5open");
        if (other) dlclose(other);
        if (!is_hdf5) return 0;
        snprintf(why, why_size,
                 "this copy of the %s already serves HDF5 %u.%u.%u (%s), so it cannot also serve the HDF5 in %s: "
                 "one process loading two HDF5 libraries needs a copy of the %s for each",
                 binding->who, binding->version[0], binding->version[1], binding->version[2], binding->path,
                 caller_path, binding->who);
        return -1;
    }

    char path[H5IMG_HDF5_PATH_SIZE];
    if (caller_known) {
        /* RTLD_NOLOAD only finds a library already loaded, and takes no new
         * one: it works for one loaded RTLD_LOCAL, which the global scope hides. */
        void *handle = dlopen(caller_path, RTLD_LAZY | RTLD_NOLOAD);
        if (handle && dlsym(handle, "H5open")) {
            int status = take_library(binding, handle, caller_path, why, why_size);
            dlclose(handle); /* the caller keeps it loaded for as long as it calls us */
            if (status < 0) return -1;
            snprintf(path, sizeof path, "%s", caller_path);
            goto done;
        }
        if (handle) dlclose(handle);
    }
    /* The caller is not an HDF5 library (a program calling the entry points
     * itself, say): the process's global scope is the only other honest place. */
    void *global_open = dlsym(RTLD_DEFAULT, "H5open");
    if (!global_open) {
        snprintf(why, why_size,
                 "cannot find the HDF5 library that loaded the %s: the caller (%s) exports no HDF5 functions "
                 "and no HDF5 library is on the global symbol scope",
                 binding->who, caller_known ? caller_path : "an unknown address");
        return -1;
    }
    if (!file_of(global_open, path, sizeof path)) snprintf(path, sizeof path, "global scope");
    if (take_library(binding, RTLD_DEFAULT, path, why, why_size) < 0) return -1;
done:
    snprintf(binding->path, sizeof binding->path, "%s", path);
    __atomic_store_n(&binding->bound, 1, __ATOMIC_RELEASE);
    return 0;
}

int h5img_hdf5_bind_list(h5img_hdf5_binding *binding, const void *caller, char *why, size_t why_size)
{
    pthread_mutex_lock(&bind_lock);
    int status = bind_unlocked(binding, caller, why, why_size);
    pthread_mutex_unlock(&bind_lock);
    return status;
}

/* ------------------------------------------------------------------------- */
/* The filter's list: the table of hdf5_api.h                                */
/* ------------------------------------------------------------------------- */

static h5img_hdf5 bound_table;

#define FILTER_FUNCTION_COUNT (0 H5IMG_HDF5_FUNCTIONS(H5IMG_COUNT_FUNCTION))
#define H5IMG_COUNT_FUNCTION(type, name, parameters) +1
#define H5IMG_COUNT_ID(name) +1
#define FILTER_SYMBOL_COUNT                                                                                        \
    (FILTER_FUNCTION_COUNT H5IMG_HDF5_ERROR_IDS(H5IMG_COUNT_ID) H5IMG_HDF5_TYPE_IDS(H5IMG_COUNT_ID))
#define H5IMG_COUNT_OPTIONAL(type, name, symbol, parameters) +1
#define FILTER_OPTIONAL_COUNT (0 H5IMG_HDF5_OPTIONAL_FUNCTIONS(H5IMG_COUNT_OPTIONAL))

static const char *const filter_names[] = {
#define H5IMG_NAME(type, name, parameters) #name,
    H5IMG_HDF5_FUNCTIONS(H5IMG_NAME)
#undef H5IMG_NAME
#define H5IMG_ID_NAME(name) #name,
    H5IMG_HDF5_ERROR_IDS(H5IMG_ID_NAME)
    H5IMG_HDF5_TYPE_IDS(H5IMG_ID_NAME)
#undef H5IMG_ID_NAME
};
static void *filter_addresses[FILTER_SYMBOL_COUNT];

static const char *const filter_optional_names[] = {
#define H5IMG_OPTIONAL_NAME(type, name, symbol, parameters) #symbol,
    H5IMG_HDF5_OPTIONAL_FUNCTIONS(H5IMG_OPTIONAL_NAME)
#undef H5IMG_OPTIONAL_NAME
};
static void *filter_optional_addresses[FILTER_OPTIONAL_COUNT];

/* The address an optional symbol resolved to, NULL if it did not. */
static void *optional_symbol(const h5img_hdf5_binding *binding, const char *symbol)
{
    for (size_t i = 0; i < binding->optional_count; i++)
        if (strcmp(binding->optional_names[i], symbol) == 0) return binding->optional_addresses[i];
    return NULL;
}

/* Store a dlsym() address in a function pointer member (POSIX guarantees the
 * representations agree; memcpy says so without a cast C forbids). */
#define SET_FUNCTION(member, address)                                                                              \
    do {                                                                                                           \
        void *address_ = (address);                                                                                \
        memcpy((member), &address_, sizeof *(member));                                                             \
    } while (0)

/* Functions first, H5open, then the ids, whose values H5open sets. */
static int complete_filter_table(h5img_hdf5_binding *binding, char *why, size_t why_size)
{
    h5img_hdf5 table;
    memset(&table, 0, sizeof table);
    size_t slot = 0;
#define H5IMG_TAKE_FUNCTION(type, name, parameters) memcpy(&table.name, &binding->addresses[slot++], sizeof table.name);
    H5IMG_HDF5_FUNCTIONS(H5IMG_TAKE_FUNCTION)
#undef H5IMG_TAKE_FUNCTION
    if (table.H5open() < 0) {
        snprintf(why, why_size, "H5open() of %s failed", binding->path);
        return -1;
    }
#define H5IMG_TAKE_ID(name) table.name = *(const hid_t *)binding->addresses[slot++];
    H5IMG_HDF5_ERROR_IDS(H5IMG_TAKE_ID)
    H5IMG_HDF5_TYPE_IDS(H5IMG_TAKE_ID)
#undef H5IMG_TAKE_ID
    /* The optional functions, each read chunk form only from the HDF5 major
     * version whose signature its member has (H5IMG_HDF5_OPTIONAL_FUNCTIONS). */
    int before_2 = binding->version[0] < 2;
    SET_FUNCTION(&table.H5Dget_chunk_storage_size, optional_symbol(binding, "H5Dget_chunk_storage_size"));
    SET_FUNCTION(&table.H5Dread_chunk1, before_2 ? optional_symbol(binding, "H5Dread_chunk") : NULL);
    SET_FUNCTION(&table.H5Dread_chunk2, before_2 ? NULL : optional_symbol(binding, "H5Dread_chunk2"));
    memcpy(table.version, binding->version, sizeof table.version);
    snprintf(table.path, sizeof table.path, "%s", binding->path);
    bound_table = table;
    return 0;
}

static h5img_hdf5_binding filter_binding = {
    .who = "plugin",
    .needs = "HDF5 1.10 or newer",
    .names = filter_names,
    .count = FILTER_SYMBOL_COUNT,
    .addresses = filter_addresses,
    .optional_names = filter_optional_names,
    .optional_count = FILTER_OPTIONAL_COUNT,
    .optional_addresses = filter_optional_addresses,
    /* The ids: h5ls and h5dump copy-relocate H5T_* ids such as the
     * reader's H5T_NATIVE_UCHAR_g, and none of HDF5's tools names an error
     * id today, but a program that did would hold the live copy, and the
     * library's own storage would stay -1. */
    .variables_from = FILTER_FUNCTION_COUNT,
    .complete = complete_filter_table,
};

const h5img_hdf5 *h5img_hdf5_api(void)
{
    return h5img_hdf5_is_bound(&filter_binding) ? &bound_table : NULL;
}

int h5img_hdf5_bind(const void *caller, char *why, size_t why_size)
{
    return h5img_hdf5_bind_list(&filter_binding, caller, why, why_size);
}
