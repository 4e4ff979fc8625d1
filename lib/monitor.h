/* Requests the monitor serves on ROOT/ID/monitor.sock (frames of agent-proto):
 *   attach {stream_id}     a stand-in takes a process's stdio stream
 *   wait {stream_id}       answered {exit_code, signal} when the process exits
 *   start                  StartContainer
 *   kill {signal, all}     SignalProcess to the container
 *   signal {stream_id, signal}  a stand-in forwarding a signal it caught
 *   destroy                remove the container, stop the VM, then the monitor exits
 */
#ifndef VC_LIB_MONITOR_H
#define VC_LIB_MONITOR_H

#define VC_MONITOR_SOCK	       "monitor.sock"
#define VC_MONITOR_INIT_STREAM 1

#endif
