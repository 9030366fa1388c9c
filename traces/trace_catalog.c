/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/trace_catalog.c — the event catalogue (names, slot layouts, one
 * pattern per QEMU format variant) and the pattern matcher.
 *
 * Patterns are the QEMU format strings with every conversion replaced by a
 * typed slot: "%u3" = unsigned decimal into slot 3, "%d" signed decimal,
 * "%x" a number printed as "0x..." (VFIO before 9.2) or in decimal (9.2+;
 * the literal "0x" of the old formats is therefore not part of the
 * pattern), "%s" a string running up to the next literal text of the
 * pattern (or to the end), "%%" a percent sign.  Format strings are from
 * ../shared/reference/qemu-convergence.md section 6 and QEMU's
 * trace-events files; variants are tried in order, first match wins.
 */
#include "traces/trace_int.h"

#include <string.h>

struct trc_event_def {
    const char *name;
    unsigned flags;
    const char *slots[TRC_MAX_SLOTS];
    const char *pat[4];
};

#define T              TRC_EVF_TIMELINE
#define V              TRC_EVF_VFIO
#define DS             TRC_EVF_DEST
#define VFIO_NAME_ONLY " (%s0)"
/* A VFIO event whose only argument is the device name. */
#define VFIO_NAME_EVENT(name, flags)                                           \
    {                                                                          \
        name, flags, {"name"},                                                 \
        {                                                                      \
            VFIO_NAME_ONLY                                                     \
        }                                                                      \
    }

static const struct trc_event_def defs[TRC_EV_COUNT] = {
    [TRC_EV_UNKNOWN] = {"", 0, {NULL}, {NULL}},
    [TRC_EV_OTHER_KNOWN] = {"", 0, {NULL}, {NULL}},
    [TRC_EV_SET_STATE] = {"migrate_set_state", T, {"state"}, {"new state %s0"}},
    [TRC_EV_PENDING] = {"migrate_pending",
                        T,
                        {"size", "pre", "post", "max", "compat"},
                        {"pending size %u0 max %u3 (pre = %u1 compat=%u4 "
                         "post=%u2)"}},
    [TRC_EV_PENDING_ESTIMATE] = {"migrate_pending_estimate",
                                 T,
                                 {"size", "pre", "post", "max", "compat"},
                                 {"estimate pending size %u0 (pre = %u1 "
                                  "post=%u2)",
                                  "estimate pending size %u0 max %u3 (pre = "
                                  "%u1 compat=%u4 post=%u2)"}},
    [TRC_EV_PENDING_EXACT] = {"migrate_pending_exact",
                              T,
                              {"size", "pre", "post", "max", "compat"},
                              {"exact pending size %u0 (pre = %u1 post=%u2)",
                               "exact pending size %u0 max %u3 (pre = %u1 "
                               "compat=%u4 post=%u2)"}},
    [TRC_EV_TRANSFERRED] = {"migrate_transferred",
                            T,
                            {"transferred", "time_spent", "bandwidth",
                             "switchover_bw", "max_size"},
                            {"transferred %u0 time_spent %u1 bandwidth %u2 "
                             "switchover_bw %u3 max_size %d4",
                             "transferred %u0 time_spent %u1 bandwidth %u2 "
                             "max_size %d4"}},
    [TRC_EV_TRANSFERRED_BYTES] = {"migration_transferred_bytes",
                                  T,
                                  {"qemu_file", "multifd", "rdma"},
                                  {"qemu_file %u0 multifd %u1 RDMA %u2",
                                   "qemu_file %u0 multifd %u1"}},
    [TRC_EV_SYNC_START] = {"migration_bitmap_sync_start", T, {NULL}, {""}},
    [TRC_EV_SYNC_END] = {"migration_bitmap_sync_end",
                         T,
                         {"dirty_pages"},
                         {"dirty_pages %u0"}},
    [TRC_EV_LOW_PENDING] = {"migration_thread_low_pending",
                            T,
                            {"pending"},
                            {"%u0"}},
    [TRC_EV_SETUP_COMPLETE] = {"migration_thread_setup_complete",
                               T,
                               {NULL},
                               {""}},
    [TRC_EV_AFTER_LOOP] = {"migration_thread_after_loop", T, {NULL}, {""}},
    [TRC_EV_THREAD_FILE_ERR] = {"migration_thread_file_err", T, {NULL}, {""}},
    [TRC_EV_COMPLETION_VM_STOP] = {"migration_completion_vm_stop",
                                   T,
                                   {"ret"},
                                   {"ret %d0"}},
    [TRC_EV_COMPLETION_FILE_ERR] = {"migration_completion_file_err",
                                    T,
                                    {NULL},
                                    {""}},
    [TRC_EV_COMPLETION_POSTCOPY_END] = {"migration_completion_postcopy_end",
                                        T,
                                        {NULL},
                                        {""}},
    [TRC_EV_COMPLETION_POSTCOPY_END_AFTER] =
        {"migration_completion_postcopy_end_after_complete", 0, {NULL}, {""}},
    [TRC_EV_PRECOPY_COMPLETE] = {"migration_precopy_complete", T, {NULL}, {""}},
    [TRC_EV_RATE_LIMIT_PRE] = {"migration_rate_limit_pre",
                               T,
                               {"ms"},
                               {"%d0 ms"}},
    [TRC_EV_RATE_LIMIT_POST] = {"migration_rate_limit_post",
                                0,
                                {"urgent"},
                                {"urgent: %d0"}},
    [TRC_EV_THROTTLE] = {"migration_throttle", T, {NULL}, {""}},
    [TRC_EV_DIRTY_LIMIT_GUEST] = {"migration_dirty_limit_guest",
                                  T,
                                  {"rate_mbps"},
                                  {"guest dirty page rate limit %d0 MB/s"}},
    [TRC_EV_CPU_THROTTLE_SET] = {"cpu_throttle_set",
                                 T,
                                 {"percent"},
                                 {"set guest CPU throttled by %d0%%"}},
    [TRC_EV_CPU_THROTTLE_DIRTY_SYNC] = {"cpu_throttle_dirty_sync",
                                        T,
                                        {NULL},
                                        {""}},
    [TRC_EV_DIRTYLIMIT_SET_VCPU] = {"dirtylimit_set_vcpu",
                                    T,
                                    {"cpu", "quota"},
                                    {"CPU[%d0] set dirty page rate limit %u1"}},
    [TRC_EV_DIRTYLIMIT_THROTTLE_PCT] =
        {"dirtylimit_throttle_pct",
         0,
         {"cpu", "percent", "adjust_us"},
         {"CPU[%d0] throttle percent: %u1, throttle adjust time %d2 us"}},
    [TRC_EV_DIRTYLIMIT_VCPU_EXECUTE] = {"dirtylimit_vcpu_execute",
                                        0,
                                        {"cpu", "sleep_us"},
                                        {"CPU[%d0] sleep %d1 us"}},
    [TRC_EV_RAM_BIG_WAIT] = {"ram_save_iterate_big_wait",
                             0,
                             {"ms", "iterations"},
                             {"big wait: %u0 milliseconds, %d1 iterations"}},
    [TRC_EV_RAM_SAVE_COMPLETE] = {"ram_save_complete",
                                  T,
                                  {"dirty", "done"},
                                  {"dirty=%u0, done=%d1"}},
    [TRC_EV_POSTCOPY_START] = {"postcopy_start", T, {NULL}, {""}},
    [TRC_EV_POSTCOPY_START_SET_RUN] = {"postcopy_start_set_run",
                                       0,
                                       {NULL},
                                       {""}},
    [TRC_EV_SWITCHOVER_ACKED] = {"source_return_path_thread_switchover_acked",
                                 T,
                                 {NULL},
                                 {""}},
    [TRC_EV_SAVEVM_STATE_SETUP] = {"savevm_state_setup", T, {NULL}, {""}},
    [TRC_EV_SAVEVM_STATE_ITERATE] = {"savevm_state_iterate", T, {NULL}, {""}},
    [TRC_EV_SAVEVM_STATE_CLEANUP] = {"savevm_state_cleanup", 0, {NULL}, {""}},
    [TRC_EV_SAVEVM_STATE_HEADER] = {"savevm_state_header", 0, {NULL}, {""}},
    [TRC_EV_SAVEVM_STATE_COMPLETE_PRECOPY] = {"savevm_state_complete_precopy",
                                              T,
                                              {NULL},
                                              {""}},
    [TRC_EV_SAVEVM_SECTION_START] = {"savevm_section_start",
                                     0,
                                     {"idstr", "section_id"},
                                     {"%s0, section_id %u1"}},
    [TRC_EV_SAVEVM_SECTION_END] = {"savevm_section_end",
                                   0,
                                   {"idstr", "section_id", "ret"},
                                   {"%s0, section_id %u1 -> %d2"}},
    [TRC_EV_SAVEVM_SEND_SWITCHOVER_START] = {"savevm_send_switchover_start",
                                             0,
                                             {NULL},
                                             {""}},
    [TRC_EV_DOWNTIME_SAVE] = {"vmstate_downtime_save",
                              T,
                              {"type", "idstr", "instance_id", "downtime_us"},
                              {"type=%s0 idstr=%s1 instance_id=%d2 "
                               "downtime=%d3"}},
    [TRC_EV_DOWNTIME_CHECKPOINT] = {"vmstate_downtime_checkpoint",
                                    T,
                                    {"checkpoint"},
                                    {"%s0"}},
    [TRC_EV_BLOCK_ACTIVATION] = {"migration_block_activation",
                                 0,
                                 {"text"},
                                 {"%s0"}},
    [TRC_EV_DOWNTIME_LOAD] = {"vmstate_downtime_load",
                              T | DS,
                              {"type", "idstr", "instance_id", "downtime_us"},
                              {"type=%s0 idstr=%s1 instance_id=%d2 "
                               "downtime=%d3"}},
    [TRC_EV_LOADVM_ACK_NEEDED] = {"loadvm_state_switchover_ack_needed",
                                  DS,
                                  {"num"},
                                  {"Switchover ack pending num=%u0"}},
    [TRC_EV_LOADVM_APPROVE_SWITCHOVER] = {"loadvm_approve_switchover",
                                          DS,
                                          {"num"},
                                          {"Switchover ack pending num=%u0"}},
    [TRC_EV_INCOMING_END] = {"process_incoming_migration_co_end",
                             DS | T,
                             {"ret", "postcopy_state"},
                             {"ret=%d0 postcopy-state=%d1"}},
    /* VFIO */
    [TRC_EV_VFIO_PROBE] = {"vfio_migration_probe",
                           V,
                           {"name", "region"},
                           {" (%s0) Region %d1", VFIO_NAME_ONLY}},
    [TRC_EV_VFIO_REALIZE] = VFIO_NAME_EVENT("vfio_migration_realize", V),
    [TRC_EV_VFIO_SET_STATE] = {"vfio_migration_set_state",
                               V | T,
                               {"name", "state", "recover_state"},
                               {" (%s0) new state %s1, recover state %s2",
                                " (%s0) state %s1"}},
    [TRC_EV_VFIO_SET_DEVICE_STATE] = {"vfio_migration_set_device_state",
                                      V | T,
                                      {"name", "state"},
                                      {" (%s0) state %s1"}},
    [TRC_EV_VFIO_VMSTATE_CHANGE] = {"vfio_vmstate_change",
                                    V | T,
                                    {"name", "running", "reason",
                                     "device_state"},
                                    {" (%s0) running %d1 reason %s2 device "
                                     "state %s3"}},
    [TRC_EV_VFIO_VMSTATE_CHANGE_PREPARE] = {"vfio_vmstate_change_prepare",
                                            V | T,
                                            {"name", "running", "reason",
                                             "device_state"},
                                            {" (%s0) running %d1 reason %s2 "
                                             "device state %s3"}},
    [TRC_EV_VFIO_STATE_NOTIFIER] = {"vfio_migration_state_notifier",
                                    V,
                                    {"name", "state"},
                                    {" (%s0) state %s1"}},
    [TRC_EV_VFIO_SAVE_SETUP] = {"vfio_save_setup",
                                V | T,
                                {"name", "data_buffer_size"},
                                {" (%s0) data buffer size %x1",
                                 VFIO_NAME_ONLY}},
    [TRC_EV_VFIO_SAVE_CLEANUP] = VFIO_NAME_EVENT("vfio_save_cleanup", V),
    [TRC_EV_VFIO_SAVE_CONFIG] =
        VFIO_NAME_EVENT("vfio_save_device_config_state", V),
    [TRC_EV_VFIO_PENDING_ESTIMATE] = {"vfio_state_pending_estimate",
                                      V | T,
                                      {"name", "precopy", "postcopy", NULL,
                                       "precopy_init", "precopy_dirty"},
                                      {" (%s0) precopy %x1 postcopy %x2 "
                                       "precopy initial size %x4 precopy "
                                       "dirty size %x5"}},
    [TRC_EV_VFIO_PENDING_EXACT] = {"vfio_state_pending_exact",
                                   V | T,
                                   {"name", "precopy", "postcopy", "stopcopy",
                                    "precopy_init", "precopy_dirty"},
                                   {" (%s0) precopy %x1 postcopy %x2 stopcopy "
                                    "size %x3 precopy initial size %x4 "
                                    "precopy dirty size %x5",
                                    " (%s0) precopy %x1 postcopy %x2 stopcopy "
                                    "size %x3"}},
    [TRC_EV_VFIO_PENDING] = {"vfio_state_pending",
                             V | T,
                             {"name", NULL, NULL, "stopcopy", "precopy_init",
                              "precopy_dirty", "request_ack", "exact", "final"},
                             {" (%s0) stopcopy size %u3, precopy initial "
                              "size %u4, precopy dirty size %u5, request "
                              "switchover ack %d6, exact %d7, final %d8"}},
    [TRC_EV_VFIO_SAVE_PENDING] = {"vfio_save_pending",
                                  V | T,
                                  {"name", "precopy", "postcopy", NULL, NULL,
                                   NULL, "compatible"},
                                  {" (%s0) precopy %x1 postcopy %x2 "
                                   "compatible %x6"}},
    [TRC_EV_VFIO_UPDATE_PENDING] = {"vfio_update_pending",
                                    V | T,
                                    {"name", NULL, "pending"},
                                    {" (%s0) pending %x2"}},
    [TRC_EV_VFIO_SAVE_BUFFER] = {"vfio_save_buffer",
                                 V,
                                 {"name", "size", "pending", "offset"},
                                 {" (%s0) Offset %x3 size %x1 pending %x2"}},
    [TRC_EV_VFIO_SAVE_ITERATE] = {"vfio_save_iterate",
                                  V | T,
                                  {"name", "data_size", NULL, NULL,
                                   "precopy_init", "precopy_dirty"},
                                  {" (%s0) precopy initial size %x4 precopy "
                                   "dirty size %x5",
                                   " (%s0) data_size %d1"}},
    [TRC_EV_VFIO_SAVE_ITERATE_START] =
        VFIO_NAME_EVENT("vfio_save_iterate_start", V | T),
    [TRC_EV_VFIO_SAVE_COMPLETE] = {"vfio_save_complete_precopy",
                                   V | T,
                                   {"name", "ret"},
                                   {" (%s0) ret %d1", VFIO_NAME_ONLY}},
    [TRC_EV_VFIO_SAVE_COMPLETE_START] =
        VFIO_NAME_EVENT("vfio_save_complete_precopy_start", V | T),
    [TRC_EV_VFIO_SAVE_THREAD_START] =
        {"vfio_save_complete_precopy_thread_start",
         V,
         {"name", "idstr", "instance"},
         {" (%s0) idstr %s1 instance %u2"}},
    [TRC_EV_VFIO_SAVE_THREAD_END] = {"vfio_save_complete_precopy_thread_end",
                                     V,
                                     {"name", "ret"},
                                     {" (%s0) ret %d1"}},
    [TRC_EV_VFIO_SAVE_BLOCK] = {"vfio_save_block",
                                V | T,
                                {"name", "data_size"},
                                {" (%s0) data_size %d1"}},
    [TRC_EV_VFIO_SAVE_BLOCK_EMPTY] =
        VFIO_NAME_EVENT("vfio_save_block_precopy_empty_hit", V),
    [TRC_EV_VFIO_LOAD_STATE] = {"vfio_load_state",
                                V | DS,
                                {"name", "data"},
                                {" (%s0) data %x1"}},
    [TRC_EV_VFIO_LOAD_DEVICE_DATA] = {"vfio_load_state_device_data",
                                      V | DS | T,
                                      {"name", "size", "ret", "offset"},
                                      {" (%s0) size %x1 ret %d2",
                                       " (%s0) Offset %x3 size %x1"}},
    [TRC_EV_VFIO_LOAD_CLEANUP] = VFIO_NAME_EVENT("vfio_load_cleanup", V | DS),
    [TRC_EV_VFIO_LOAD_CONFIG] =
        VFIO_NAME_EVENT("vfio_load_device_config_state", V | DS),
    [TRC_EV_VFIO_LOAD_CONFIG_START] =
        VFIO_NAME_EVENT("vfio_load_device_config_state_start", V | DS),
    [TRC_EV_VFIO_LOAD_CONFIG_END] =
        VFIO_NAME_EVENT("vfio_load_device_config_state_end", V | DS),
    [TRC_EV_VFIO_LOAD_BUFS_START] =
        VFIO_NAME_EVENT("vfio_load_bufs_thread_start", V | DS),
    [TRC_EV_VFIO_LOAD_BUFS_END] =
        VFIO_NAME_EVENT("vfio_load_bufs_thread_end", V | DS),
    [TRC_EV_VFIO_LOAD_BUFFER_INCOMING] =
        {"vfio_load_state_device_buffer_incoming",
         V | DS,
         {"name", "idx"},
         {" (%s0) idx %u1"}},
    [TRC_EV_VFIO_QUERY_STOP_COPY] = {"vfio_query_stop_copy_size",
                                     V | T,
                                     {"name", "ret", NULL, "stopcopy"},
                                     {" (%s0) stopcopy size %u3 ret %d1"}},
    [TRC_EV_VFIO_QUERY_PRECOPY] = {"vfio_query_precopy_size",
                                   V,
                                   {"name", "reinit", "ret", NULL,
                                    "precopy_init", "precopy_dirty"},
                                   {" (%s0) init %u4, dirty %u5, reinit %d1, "
                                    "ret %d2"}},
    [TRC_EV_VFIO_SEND_INIT_DATA] =
        VFIO_NAME_EVENT("vfio_send_init_data_flag", V),
};

/*
 * Migration events QEMU declares (migration/, hw/vfio/, system/ trace-events
 * of 7.2 ... 10.x) that the replay reads by name only.  Having them here
 * keeps a real trace free of "unknown" migration events.
 */
static const char *const other_known[] = {
    "qemu_loadvm_state_section",
    "qemu_loadvm_state_section_command",
    "qemu_loadvm_state_section_partend",
    "qemu_loadvm_state_post_main",
    "qemu_loadvm_state_section_startfull",
    "qemu_savevm_send_packaged",
    "loadvm_state_setup",
    "loadvm_state_cleanup",
    "loadvm_handle_cmd_packaged",
    "loadvm_handle_cmd_packaged_main",
    "loadvm_handle_cmd_packaged_received",
    "loadvm_handle_recv_bitmap",
    "loadvm_postcopy_handle_advise",
    "loadvm_postcopy_handle_listen",
    "loadvm_postcopy_handle_run",
    "loadvm_postcopy_handle_run_bh",
    "loadvm_postcopy_handle_resume",
    "loadvm_postcopy_ram_handle_discard",
    "loadvm_postcopy_ram_handle_discard_end",
    "loadvm_postcopy_ram_handle_discard_header",
    "loadvm_process_command",
    "loadvm_process_command_ping",
    "postcopy_ram_listen_thread_exit",
    "postcopy_ram_listen_thread_start",
    "qemu_savevm_send_postcopy_advise",
    "qemu_savevm_send_postcopy_ram_discard",
    "savevm_command_send",
    "savevm_section_skip",
    "savevm_send_open_return_path",
    "savevm_send_ping",
    "savevm_send_postcopy_listen",
    "savevm_send_postcopy_run",
    "savevm_send_postcopy_resume",
    "savevm_send_colo_enable",
    "savevm_send_recv_bitmap",
    "savevm_state_resume_prepare",
    "vmstate_save",
    "vmstate_load",
    "vmstate_load_field_error",
    "vmstate_load_state",
    "vmstate_load_state_end",
    "vmstate_load_state_field",
    "vmstate_n_elems",
    "vmstate_subsection_load",
    "vmstate_subsection_load_bad",
    "vmstate_subsection_load_good",
    "vmstate_save_state_pre_save_res",
    "vmstate_save_state_loop",
    "vmstate_save_state_top",
    "vmstate_subsection_save_loop",
    "vmstate_subsection_save_top",
    "postcopy_pause_incoming",
    "postcopy_pause_incoming_continued",
    "postcopy_page_req_sync",
    "qemu_file_fclose",
    "get_queued_page",
    "get_queued_page_not_dirty",
    "migration_bitmap_clear_dirty",
    "ram_discard_range",
    "ram_load_loop",
    "ram_load_postcopy_loop",
    "ram_postcopy_send_discard_bitmap",
    "ram_save_page",
    "ram_save_queue_pages",
    "ram_dirty_bitmap_request",
    "ram_dirty_bitmap_reload_begin",
    "ram_dirty_bitmap_reload_complete",
    "ram_dirty_bitmap_sync_start",
    "ram_dirty_bitmap_sync_wait",
    "ram_dirty_bitmap_sync_complete",
    "ram_state_resume_prepare",
    "colo_flush_ram_cache_begin",
    "colo_flush_ram_cache_end",
    "save_xbzrle_page_skipping",
    "save_xbzrle_page_overflow",
    "ram_load_complete",
    "ram_write_tracking_ramblock_start",
    "ram_write_tracking_ramblock_stop",
    "postcopy_preempt_triggered",
    "postcopy_preempt_restored",
    "postcopy_preempt_hit",
    "postcopy_preempt_send_host_page",
    "postcopy_preempt_switch_channel",
    "postcopy_preempt_reset_channel",
    "postcopy_preempt_enabled",
    "multifd_new_send_channel_async",
    "multifd_recv",
    "multifd_recv_new_channel",
    "multifd_recv_sync_main",
    "multifd_recv_sync_main_signal",
    "multifd_recv_sync_main_wait",
    "multifd_recv_terminate_threads",
    "multifd_recv_thread_end",
    "multifd_recv_thread_start",
    "multifd_send",
    "multifd_send_error",
    "multifd_send_sync_main",
    "multifd_send_sync_main_signal",
    "multifd_send_sync_main_wait",
    "multifd_send_terminate_threads",
    "multifd_send_thread_end",
    "multifd_send_thread_start",
    "multifd_tls_outgoing_handshake_start",
    "multifd_tls_outgoing_handshake_error",
    "multifd_tls_outgoing_handshake_complete",
    "multifd_set_outgoing_channel",
    "await_return_path_close_on_source_close",
    "await_return_path_close_on_source_joining",
    "migrate_fd_cleanup",
    "migrate_fd_error",
    "migrate_fd_cancel",
    "migrate_cleanup",
    "migrate_error",
    "migrate_cancel",
    "migrate_handle_rp_req_pages",
    "migrate_send_rp_message",
    "migrate_send_rp_recv_bitmap",
    "migration_return_path_end_before",
    "migration_return_path_end_after",
    "migration_return_path_end_end",
    "open_return_path_on_source",
    "open_return_path_on_source_continue",
    "postcopy_pause_return_path",
    "postcopy_pause_return_path_continued",
    "postcopy_pause_continued",
    "postcopy_page_req_add",
    "source_return_path_thread_bad_end",
    "source_return_path_thread_end",
    "source_return_path_thread_entry",
    "source_return_path_thread_loop_top",
    "source_return_path_thread_pong",
    "source_return_path_thread_shut",
    "source_return_path_thread_resume_ack",
    "process_incoming_migration_end",
    "process_incoming_migration_co_postcopy_end_main",
    "migration_set_incoming_channel",
    "migration_set_outgoing_channel",
    "migration_socket_outgoing_connected",
    "migration_socket_incoming_accepted",
    "migration_socket_outgoing_error",
    "migration_tls_outgoing_handshake_start",
    "migration_tls_outgoing_handshake_error",
    "migration_tls_outgoing_handshake_complete",
    "migration_tls_incoming_handshake_start",
    "migration_tls_incoming_handshake_error",
    "migration_tls_incoming_handshake_complete",
    "migration_exec_outgoing",
    "migration_exec_incoming",
    "migration_fd_outgoing",
    "migration_fd_incoming",
    "migration_file_outgoing",
    "migration_file_incoming",
    "migration_pagecache_init",
    "migration_pagecache_insert",
    "migration_block_save",
    "migration_block_save_complete",
    "migration_block_state_pending",
    "migration_block_flush_blks",
    "migration_block_save_device_dirty",
    "migration_block_save_pending",
    "migrate_state_too_big",
    "migrate_global_state_post_load",
    "migrate_global_state_pre_save",
    "migration_colo_incoming",
    "cpr_state_save",
    "cpr_state_load",
    "cpr_transfer_input",
    "cpr_transfer_output",
    "cpr_exec",
    "dirtylimit_state_initialize",
    "dirtylimit_state_finalize",
    "vfio_display_edid_link_up",
    "vfio_migration_multifd_setup",
    "vfio_load_state_device_buffer_start",
    "vfio_load_state_device_buffer_end",
    "vfio_load_state_device_buffer_starved",
    "vfio_load_state_device_buffer_load_start",
    "vfio_load_state_device_buffer_load_end",
    "vfio_load_config_after_iter",
};

const char *trc_event_name(enum trc_ev ev)
{
    if ((unsigned)ev >= TRC_EV_COUNT) {
        return "";
    }
    return defs[ev].name;
}

unsigned trc_event_flags(enum trc_ev ev)
{
    if ((unsigned)ev >= TRC_EV_COUNT) {
        return 0;
    }
    return defs[ev].flags;
}

const char *trc_event_slot_name(enum trc_ev ev, unsigned slot)
{
    if ((unsigned)ev >= TRC_EV_COUNT || slot >= TRC_MAX_SLOTS) {
        return NULL;
    }
    return defs[ev].slots[slot];
}

unsigned trc_event_variants(enum trc_ev ev)
{
    if ((unsigned)ev >= TRC_EV_COUNT) {
        return 0;
    }
    unsigned n = 0;
    while (n < 4 && defs[ev].pat[n]) {
        n++;
    }
    return n;
}

const char *trc_event_pattern(enum trc_ev ev, unsigned v)
{
    if (v >= trc_event_variants(ev)) {
        return NULL;
    }
    return defs[ev].pat[v];
}

static bool name_eq(const char *a, const char *b, size_t blen)
{
    return strncmp(a, b, blen) == 0 && a[blen] == '\0';
}

enum trc_ev trc_event_lookup(const char *name, size_t len)
{
    if (len == 0) {
        return TRC_EV_UNKNOWN;
    }
    for (unsigned i = TRC_EV_SET_STATE; i < TRC_EV_COUNT; i++) {
        if (name_eq(defs[i].name, name, len)) {
            return (enum trc_ev)i;
        }
    }
    /* Alias across versions (renamed in 10.x). */
    if (len == 30 && memcmp(name, "process_incoming_migration_end", 30) == 0) {
        return TRC_EV_INCOMING_END;
    }
    for (size_t i = 0; i < sizeof(other_known) / sizeof(other_known[0]); i++) {
        if (name_eq(other_known[i], name, len)) {
            return TRC_EV_OTHER_KNOWN;
        }
    }
    return TRC_EV_UNKNOWN;
}

/* Exposed to trace.c through this accessor (no header: internal). */
size_t trc_catalog_other_known(const char *const **names);
size_t trc_catalog_other_known(const char *const **names)
{
    *names = other_known;
    return sizeof(other_known) / sizeof(other_known[0]);
}

bool trc_name_is_migration(const char *name, size_t len)
{
    static const char *const prefixes[] = {
        "migrat",       "savevm",      "loadvm",
        "vmstate",      "vfio_",       "ram_",
        "multifd",      "postcopy",    "cpr_",
        "qemu_savevm",  "qemu_loadvm", "dirtylimit",
        "cpu_throttle", "colo_",       "source_return_path",
    };
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t pl = strlen(prefixes[i]);
        if (len >= pl && memcmp(name, prefixes[i], pl) == 0) {
            return true;
        }
    }
    return false;
}
