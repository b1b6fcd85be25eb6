/* vol_hdf5.h: how the VOL connector reaches HDF5: its own list of HDF5 functions and ids, bound at load time like the filter's (hdf5_api.h). */
#ifndef H5IMG_VOL_HDF5_H
#define H5IMG_VOL_HDF5_H

#include <hdf5.h>
#include <H5VLconnector.h>
#include <H5VLconnector_passthru.h>

/* X(return type, name, parameters) for each HDF5 function the connector
 * calls: the H5VL* calls that forward to the connector underneath, and the
 * few H5P/H5S/H5T/H5D/H5E/H5I calls of the decoded view. Signatures as HDF5
 * 1.14 declares them (vol_bind.c checks them against the headers). */
#define H5IMG_VOL_FUNCTIONS(X) \
    X(herr_t, H5open, (void)) \
    X(herr_t, H5Epush2, (hid_t err_stack, const char *file, const char *func, unsigned line, hid_t cls_id, hid_t maj_id, hid_t min_id, const char *msg, ...)) \
    X(hid_t, H5Eget_current_stack, (void)) \
    X(herr_t, H5Eset_current_stack, (hid_t err_stack_id)) \
    X(ssize_t, H5Eget_num, (hid_t error_stack_id)) \
    X(int, H5Iinc_ref, (hid_t id)) \
    X(int, H5Idec_ref, (hid_t id)) \
    X(void *, H5allocate_memory, (size_t size, hbool_t clear)) \
    X(herr_t, H5free_memory, (void *mem)) \
    X(hid_t, H5Pcopy, (hid_t plist_id)) \
    X(herr_t, H5Pclose, (hid_t plist_id)) \
    X(herr_t, H5Pget_vol_info, (hid_t plist_id, void **vol_info)) \
    X(herr_t, H5Pset_vol, (hid_t plist_id, hid_t new_vol_id, const void *new_vol_info)) \
    X(H5D_layout_t, H5Pget_layout, (hid_t plist_id)) \
    X(herr_t, H5Pset_layout, (hid_t plist_id, H5D_layout_t layout)) \
    X(herr_t, H5Premove_filter, (hid_t plist_id, H5Z_filter_t filter)) \
    X(int, H5Pget_nfilters, (hid_t plist_id)) \
    X(hid_t, H5Pget_driver, (hid_t plist_id)) \
    X(herr_t, H5Pset_fapl_sec2, (hid_t fapl_id)) \
    X(hid_t, H5Screate_simple, (int rank, const hsize_t dims[], const hsize_t maxdims[])) \
    X(hid_t, H5Scopy, (hid_t space_id)) \
    X(herr_t, H5Sclose, (hid_t space_id)) \
    X(herr_t, H5Sselect_hyperslab, (hid_t space_id, H5S_seloper_t op, const hsize_t start[], const hsize_t stride[], const hsize_t count[], const hsize_t block[])) \
    X(herr_t, H5Sselect_all, (hid_t spaceid)) \
    X(H5S_sel_type, H5Sget_select_type, (hid_t spaceid)) \
    X(hssize_t, H5Sget_select_npoints, (hid_t spaceid)) \
    X(H5S_class_t, H5Sget_simple_extent_type, (hid_t space_id)) \
    X(int, H5Sget_simple_extent_ndims, (hid_t space_id)) \
    X(int, H5Sget_simple_extent_dims, (hid_t space_id, hsize_t dims[], hsize_t maxdims[])) \
    X(hssize_t, H5Sget_simple_extent_npoints, (hid_t space_id)) \
    X(hid_t, H5Tcopy, (hid_t type_id)) \
    X(hid_t, H5Tcreate, (H5T_class_t type, size_t size)) \
    X(herr_t, H5Tclose, (hid_t type_id)) \
    X(htri_t, H5Tequal, (hid_t type1_id, hid_t type2_id)) \
    X(H5T_class_t, H5Tget_class, (hid_t type_id)) \
    X(size_t, H5Tget_size, (hid_t type_id)) \
    X(H5T_sign_t, H5Tget_sign, (hid_t type_id)) \
    X(herr_t, H5Tconvert, (hid_t src_id, hid_t dst_id, size_t nelmts, void *buf, void *background, hid_t plist_id)) \
    X(herr_t, H5Dgather, (hid_t src_space_id, const void *src_buf, hid_t type_id, size_t dst_buf_size, void *dst_buf, H5D_gather_func_t op, void *op_data)) \
    X(herr_t, H5Dscatter, (H5D_scatter_func_t op, void *op_data, hid_t type_id, hid_t dst_space_id, void *dst_buf)) \
    X(hid_t, H5VLregister_connector_by_value, (H5VL_class_value_t connector_value, hid_t vipl_id)) \
    X(herr_t, H5VLcmp_connector_cls, (int *cmp, hid_t connector_id1, hid_t connector_id2)) \
    X(herr_t, H5VLget_value, (hid_t connector_id, H5VL_class_value_t *conn_value)) \
    X(herr_t, H5VLconnector_str_to_info, (const char *str, hid_t connector_id, void **info)) \
    X(herr_t, H5VLconnector_info_to_str, (const void *info, hid_t connector_id, char **str)) \
    X(herr_t, H5VLcopy_connector_info, (hid_t connector_id, void **dst_vol_info, void *src_vol_info)) \
    X(herr_t, H5VLcmp_connector_info, (int *cmp, hid_t connector_id, const void *info1, const void *info2)) \
    X(herr_t, H5VLfree_connector_info, (hid_t connector_id, void *vol_info)) \
    X(void *, H5VLget_object, (void *obj, hid_t connector_id)) \
    X(herr_t, H5VLget_wrap_ctx, (void *obj, hid_t connector_id, void **wrap_ctx)) \
    X(void *, H5VLwrap_object, (void *obj, H5I_type_t obj_type, hid_t connector_id, void *wrap_ctx)) \
    X(void *, H5VLunwrap_object, (void *obj, hid_t connector_id)) \
    X(herr_t, H5VLfree_wrap_ctx, (void *wrap_ctx, hid_t connector_id)) \
    X(herr_t, H5VLattr_close, (void *attr, hid_t connector_id, hid_t dxpl_id, void **req)) \
    X(void *, H5VLattr_create, (void *obj, const H5VL_loc_params_t *loc_params, hid_t connector_id, const char *attr_name, hid_t type_id, hid_t space_id, hid_t acpl_id, hid_t aapl_id, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLattr_get, (void *obj, hid_t connector_id, H5VL_attr_get_args_t *args, hid_t dxpl_id, void **req)) \
    X(void *, H5VLattr_open, (void *obj, const H5VL_loc_params_t *loc_params, hid_t connector_id, const char *name, hid_t aapl_id, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLattr_optional, (void *obj, hid_t connector_id, H5VL_optional_args_t *args, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLattr_read, (void *attr, hid_t connector_id, hid_t dtype_id, void *buf, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLattr_specific, (void *obj, const H5VL_loc_params_t *loc_params, hid_t connector_id, H5VL_attr_specific_args_t *args, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLattr_write, (void *attr, hid_t connector_id, hid_t dtype_id, const void *buf, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLblob_get, (void *obj, hid_t connector_id, const void *blob_id, void *buf, size_t size, void *ctx)) \
    X(herr_t, H5VLblob_optional, (void *obj, hid_t connector_id, void *blob_id, H5VL_optional_args_t *args)) \
    X(herr_t, H5VLblob_put, (void *obj, hid_t connector_id, const void *buf, size_t size, void *blob_id, void *ctx)) \
    X(herr_t, H5VLblob_specific, (void *obj, hid_t connector_id, void *blob_id, H5VL_blob_specific_args_t *args)) \
    X(herr_t, H5VLdataset_close, (void *dset, hid_t connector_id, hid_t dxpl_id, void **req)) \
    X(void *, H5VLdataset_create, (void *obj, const H5VL_loc_params_t *loc_params, hid_t connector_id, const char *name, hid_t lcpl_id, hid_t type_id, hid_t space_id, hid_t dcpl_id, hid_t dapl_id, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLdataset_get, (void *dset, hid_t connector_id, H5VL_dataset_get_args_t *args, hid_t dxpl_id, void **req)) \
    X(void *, H5VLdataset_open, (void *obj, const H5VL_loc_params_t *loc_params, hid_t connector_id, const char *name, hid_t dapl_id, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLdataset_optional, (void *obj, hid_t connector_id, H5VL_optional_args_t *args, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLdataset_read, (size_t count, void *dset[], hid_t connector_id, hid_t mem_type_id[], hid_t mem_space_id[], hid_t file_space_id[], hid_t plist_id, void *buf[], void **req)) \
    X(herr_t, H5VLdataset_specific, (void *obj, hid_t connector_id, H5VL_dataset_specific_args_t *args, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLdataset_write, (size_t count, void *dset[], hid_t connector_id, hid_t mem_type_id[], hid_t mem_space_id[], hid_t file_space_id[], hid_t plist_id, const void *buf[], void **req)) \
    X(herr_t, H5VLdatatype_close, (void *dt, hid_t connector_id, hid_t dxpl_id, void **req)) \
    X(void *, H5VLdatatype_commit, (void *obj, const H5VL_loc_params_t *loc_params, hid_t connector_id, const char *name, hid_t type_id, hid_t lcpl_id, hid_t tcpl_id, hid_t tapl_id, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLdatatype_get, (void *dt, hid_t connector_id, H5VL_datatype_get_args_t *args, hid_t dxpl_id, void **req)) \
    X(void *, H5VLdatatype_open, (void *obj, const H5VL_loc_params_t *loc_params, hid_t connector_id, const char *name, hid_t tapl_id, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLdatatype_optional, (void *obj, hid_t connector_id, H5VL_optional_args_t *args, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLdatatype_specific, (void *obj, hid_t connector_id, H5VL_datatype_specific_args_t *args, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLfile_close, (void *file, hid_t connector_id, hid_t dxpl_id, void **req)) \
    X(void *, H5VLfile_create, (const char *name, unsigned flags, hid_t fcpl_id, hid_t fapl_id, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLfile_get, (void *file, hid_t connector_id, H5VL_file_get_args_t *args, hid_t dxpl_id, void **req)) \
    X(void *, H5VLfile_open, (const char *name, unsigned flags, hid_t fapl_id, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLfile_optional, (void *obj, hid_t connector_id, H5VL_optional_args_t *args, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLfile_specific, (void *obj, hid_t connector_id, H5VL_file_specific_args_t *args, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLgroup_close, (void *grp, hid_t connector_id, hid_t dxpl_id, void **req)) \
    X(void *, H5VLgroup_create, (void *obj, const H5VL_loc_params_t *loc_params, hid_t connector_id, const char *name, hid_t lcpl_id, hid_t gcpl_id, hid_t gapl_id, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLgroup_get, (void *obj, hid_t connector_id, H5VL_group_get_args_t *args, hid_t dxpl_id, void **req)) \
    X(void *, H5VLgroup_open, (void *obj, const H5VL_loc_params_t *loc_params, hid_t connector_id, const char *name, hid_t gapl_id, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLgroup_optional, (void *obj, hid_t connector_id, H5VL_optional_args_t *args, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLgroup_specific, (void *obj, hid_t connector_id, H5VL_group_specific_args_t *args, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLintrospect_get_cap_flags, (const void *info, hid_t connector_id, uint64_t *cap_flags)) \
    X(herr_t, H5VLintrospect_get_conn_cls, (void *obj, hid_t connector_id, H5VL_get_conn_lvl_t lvl, const H5VL_class_t **conn_cls)) \
    X(herr_t, H5VLintrospect_opt_query, (void *obj, hid_t connector_id, H5VL_subclass_t subcls, int opt_type, uint64_t *flags)) \
    X(herr_t, H5VLlink_copy, (void *src_obj, const H5VL_loc_params_t *loc_params1, void *dst_obj, const H5VL_loc_params_t *loc_params2, hid_t connector_id, hid_t lcpl_id, hid_t lapl_id, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLlink_create, (H5VL_link_create_args_t *args, void *obj, const H5VL_loc_params_t *loc_params, hid_t connector_id, hid_t lcpl_id, hid_t lapl_id, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLlink_get, (void *obj, const H5VL_loc_params_t *loc_params, hid_t connector_id, H5VL_link_get_args_t *args, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLlink_move, (void *src_obj, const H5VL_loc_params_t *loc_params1, void *dst_obj, const H5VL_loc_params_t *loc_params2, hid_t connector_id, hid_t lcpl_id, hid_t lapl_id, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLlink_optional, (void *obj, const H5VL_loc_params_t *loc_params, hid_t connector_id, H5VL_optional_args_t *args, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLlink_specific, (void *obj, const H5VL_loc_params_t *loc_params, hid_t connector_id, H5VL_link_specific_args_t *args, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLobject_copy, (void *src_obj, const H5VL_loc_params_t *loc_params1, const char *src_name, void *dst_obj, const H5VL_loc_params_t *loc_params2, const char *dst_name, hid_t connector_id, hid_t ocpypl_id, hid_t lcpl_id, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLobject_get, (void *obj, const H5VL_loc_params_t *loc_params, hid_t connector_id, H5VL_object_get_args_t *args, hid_t dxpl_id, void **req)) \
    X(void *, H5VLobject_open, (void *obj, const H5VL_loc_params_t *loc_params, hid_t connector_id, H5I_type_t *opened_type, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLobject_optional, (void *obj, const H5VL_loc_params_t *loc_params, hid_t connector_id, H5VL_optional_args_t *args, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLobject_specific, (void *obj, const H5VL_loc_params_t *loc_params, hid_t connector_id, H5VL_object_specific_args_t *args, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLoptional, (void *obj, hid_t connector_id, H5VL_optional_args_t *args, hid_t dxpl_id, void **req)) \
    X(herr_t, H5VLrequest_cancel, (void *req, hid_t connector_id, H5VL_request_status_t *status)) \
    X(herr_t, H5VLrequest_free, (void *req, hid_t connector_id)) \
    X(herr_t, H5VLrequest_notify, (void *req, hid_t connector_id, H5VL_request_notify_t cb, void *ctx)) \
    X(herr_t, H5VLrequest_optional, (void *req, hid_t connector_id, H5VL_optional_args_t *args)) \
    X(herr_t, H5VLrequest_specific, (void *req, hid_t connector_id, H5VL_request_specific_args_t *args)) \
    X(herr_t, H5VLrequest_wait, (void *req, hid_t connector_id, uint64_t timeout, H5VL_request_status_t *status)) \
    X(herr_t, H5VLtoken_cmp, (void *obj, hid_t connector_id, const H5O_token_t *token1, const H5O_token_t *token2, int *cmp_value)) \
    X(herr_t, H5VLtoken_from_str, (void *obj, H5I_type_t obj_type, hid_t connector_id, const char *token_str, H5O_token_t *token)) \
    X(herr_t, H5VLtoken_to_str, (void *obj, H5I_type_t obj_type, hid_t connector_id, const H5O_token_t *token, char **token_str))

/* Global ids the connector uses: error class and messages, memory types.
 * Kept as the addresses of HDF5's variables and read at each use: the
 * connector is bound while HDF5 is still initialising (HDF5_VOL_CONNECTOR
 * is loaded before the datatype interface sets H5T_NATIVE_UINT8_g). */
#define H5IMG_VOL_IDS(X)                                                                                          \
    X(H5E_ERR_CLS_g) X(H5E_VOL_g) X(H5E_DATASET_g) X(H5E_READERROR_g) X(H5E_WRITEERROR_g) X(H5E_CANTGET_g)     \
    X(H5E_BADVALUE_g) X(H5E_UNSUPPORTED_g) X(H5E_CANTINIT_g) X(H5E_CANTCONVERT_g) X(H5T_NATIVE_UINT8_g)        \
    X(H5T_NATIVE_UINT16_g)

/* One HDF5 library as the connector sees it. Members carry HDF5's names. */
typedef struct h5img_vol_hdf5 {
#define H5IMG_VOL_MEMBER(type, name, parameters) type(*name) parameters;
    H5IMG_VOL_FUNCTIONS(H5IMG_VOL_MEMBER)
#undef H5IMG_VOL_MEMBER
#define H5IMG_VOL_ID_MEMBER(name) const hid_t *name;
    H5IMG_VOL_IDS(H5IMG_VOL_ID_MEMBER)
#undef H5IMG_VOL_ID_MEMBER
    unsigned version[3];
} h5img_vol_hdf5;

/* The bound library; only called from callbacks, which HDF5 cannot reach
 * before the entry points bound it. */
extern h5img_vol_hdf5 h5img_vol_table;
#define H5API (&h5img_vol_table)

/* Bind to the HDF5 library containing `caller` (hdf5_runtime.c does the
 * search); 0, or -1 with the reason in `why`, also when that HDF5's VOL
 * interface is not one this connector was built for. */
int h5img_vol_bind(const void *caller, char *why, size_t why_size);

#endif /* H5IMG_VOL_HDF5_H */
