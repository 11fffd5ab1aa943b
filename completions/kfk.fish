# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_kfk_global_optspecs
    string join \n b/bootstrap-server= o/output= h/help V/version
end

function __fish_kfk_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_kfk_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_kfk_using_subcommand
    set -l cmd (__fish_kfk_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c kfk -n "__fish_kfk_needs_command" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_needs_command" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_needs_command" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_needs_command" -f -a "cluster" -d 'Start, inspect and stop a local kfkd cluster'
complete -c kfk -n "__fish_kfk_needs_command" -f -a "topics" -d 'Create, list, describe, alter and delete topics'
complete -c kfk -n "__fish_kfk_needs_command" -f -a "produce" -d 'Write messages to a topic, one per input line'
complete -c kfk -n "__fish_kfk_needs_command" -f -a "consume" -d 'Read messages from a topic'
complete -c kfk -n "__fish_kfk_needs_command" -f -a "describe" -d 'Describe the cluster, a broker or a topic'
complete -c kfk -n "__fish_kfk_needs_command" -f -a "groups" -d 'Consumer groups: list, describe (members, offsets, lag), reset offsets, delete'
complete -c kfk -n "__fish_kfk_needs_command" -f -a "reassign" -d 'Move partitions between brokers and elect leaders (Kafka\'s reassignment JSON)'
complete -c kfk -n "__fish_kfk_needs_command" -f -a "zk-shell" -d 'Browse the cluster\'s metadata as ZooKeeper paths (ls /brokers/ids, get /controller)'
complete -c kfk -n "__fish_kfk_needs_command" -f -a "config" -d 'Manage profiles: named targets and default topics'
complete -c kfk -n "__fish_kfk_needs_command" -f -a "completion" -d 'Print a shell completion script'
complete -c kfk -n "__fish_kfk_needs_command" -f -a "man" -d 'Write man pages to a directory (used by install.sh)'
complete -c kfk -n "__fish_kfk_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and not __fish_seen_subcommand_from up status down stop-broker start-broker help" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and not __fish_seen_subcommand_from up status down stop-broker start-broker help" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and not __fish_seen_subcommand_from up status down stop-broker start-broker help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and not __fish_seen_subcommand_from up status down stop-broker start-broker help" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and not __fish_seen_subcommand_from up status down stop-broker start-broker help" -f -a "up" -d 'Start a local cluster of kfkd processes in the background'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and not __fish_seen_subcommand_from up status down stop-broker start-broker help" -f -a "status" -d 'Show the local cluster\'s brokers, the controller, and partitions that are under-replicated or offline'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and not __fish_seen_subcommand_from up status down stop-broker start-broker help" -f -a "down" -d 'Stop the local cluster (data is kept unless --purge)'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and not __fish_seen_subcommand_from up status down stop-broker start-broker help" -f -a "stop-broker" -d 'Stop one broker of the local cluster (controlled shutdown unless --kill)'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and not __fish_seen_subcommand_from up status down stop-broker start-broker help" -f -a "start-broker" -d 'Start a stopped broker of the local cluster again, with its data'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and not __fish_seen_subcommand_from up status down stop-broker start-broker help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from up" -l brokers -d 'Number of brokers' -r
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from up" -s f -l file -d 'A cluster file (brokers with ids, ports, racks and settings), the kfk form of a docker-compose setup; see examples/cluster.yaml' -r -F
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from up" -l data-dir -d 'Where the brokers keep their data (default: kfk\'s data directory)' -r -F
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from up" -l base-port -d 'Port of broker 1; broker i listens on base-port + i - 1' -r
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from up" -l rest-proxy -d 'Serve the REST proxy from the first broker on this port (8082 if no port is given)' -r
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from up" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from up" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from up" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from up" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from status" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from status" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from down" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from down" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from down" -l purge -d 'Also delete the cluster\'s data'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from down" -s y -l yes -d 'Do not ask before deleting data'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from down" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from down" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from stop-broker" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from stop-broker" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from stop-broker" -l kill -d 'SIGKILL instead of SIGTERM: no controlled shutdown, as in a crash'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from stop-broker" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from stop-broker" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from start-broker" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from start-broker" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from start-broker" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from start-broker" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "up" -d 'Start a local cluster of kfkd processes in the background'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "status" -d 'Show the local cluster\'s brokers, the controller, and partitions that are under-replicated or offline'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "down" -d 'Stop the local cluster (data is kept unless --purge)'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "stop-broker" -d 'Stop one broker of the local cluster (controlled shutdown unless --kill)'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "start-broker" -d 'Start a stopped broker of the local cluster again, with its data'
complete -c kfk -n "__fish_kfk_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and not __fish_seen_subcommand_from create list describe delete alter help" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand topics; and not __fish_seen_subcommand_from create list describe delete alter help" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand topics; and not __fish_seen_subcommand_from create list describe delete alter help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and not __fish_seen_subcommand_from create list describe delete alter help" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and not __fish_seen_subcommand_from create list describe delete alter help" -f -a "create" -d 'Create a topic'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and not __fish_seen_subcommand_from create list describe delete alter help" -f -a "list" -d 'List topics'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and not __fish_seen_subcommand_from create list describe delete alter help" -f -a "describe" -d 'Show a topic\'s partitions (leader, replicas, in-sync replicas, offsets) and configs'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and not __fish_seen_subcommand_from create list describe delete alter help" -f -a "delete" -d 'Delete topics'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and not __fish_seen_subcommand_from create list describe delete alter help" -f -a "alter" -d 'Add partitions or change configs of a topic'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and not __fish_seen_subcommand_from create list describe delete alter help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from create" -s p -l partitions -d 'Number of partitions (default: the broker\'s num.partitions)' -r
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from create" -s r -l replication-factor -d 'Replicas per partition (default: the broker\'s default.replication.factor)' -r
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from create" -l replica-assignment -d 'Brokers of each partition as in kafka-topics.sh: partitions separated by commas, replicas by colons, the first leads (e.g. `1:2,2:3,3:1`)' -r
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from create" -s c -l config -d 'Topic config, key=value (repeatable), e.g. retention.ms=86400000' -r
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from create" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from create" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from create" -l if-not-exists -d 'Succeed if the topic already exists'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from list" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from list" -l internal -d 'Include internal topics (names starting with "__")'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from list" -l under-replicated -d 'Only topics with a partition whose in-sync replicas are fewer than its replicas'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from list" -l offline -d 'Only topics with a partition that has no leader'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from describe" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from describe" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from describe" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from describe" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from delete" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from delete" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from delete" -l if-exists -d 'Succeed for topics that do not exist'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from delete" -s y -l yes -d 'Do not ask for confirmation'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from alter" -s p -l partitions -d 'New (larger) number of partitions' -r
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from alter" -s r -l replication-factor -d 'New replication factor: replicas are added or removed by a reassignment, and the command waits until it completes' -r
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from alter" -s c -l config -d 'Set a topic config, key=value (repeatable)' -r
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from alter" -l delete-config -d 'Remove a topic config override (repeatable)' -r
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from alter" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from alter" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from alter" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from alter" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a topic'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from help" -f -a "list" -d 'List topics'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from help" -f -a "describe" -d 'Show a topic\'s partitions (leader, replicas, in-sync replicas, offsets) and configs'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete topics'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from help" -f -a "alter" -d 'Add partitions or change configs of a topic'
complete -c kfk -n "__fish_kfk_using_subcommand topics; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kfk -n "__fish_kfk_using_subcommand produce" -s K -l key-separator -d 'Split each line into key and value at the first SEP' -r
complete -c kfk -n "__fish_kfk_using_subcommand produce" -s p -l partition -d 'Write every message to this partition' -r
complete -c kfk -n "__fish_kfk_using_subcommand produce" -l acks -d 'Acknowledgements: 0, 1 or all' -r
complete -c kfk -n "__fish_kfk_using_subcommand produce" -l compression -r -f -a "none\t''
gzip\t''
snappy\t''
lz4\t''
zstd\t''"
complete -c kfk -n "__fish_kfk_using_subcommand produce" -s H -l header -d 'Header added to every message, key=value (repeatable)' -r
complete -c kfk -n "__fish_kfk_using_subcommand produce" -s f -l file -d 'Read messages from a file instead of standard input' -r -F
complete -c kfk -n "__fish_kfk_using_subcommand produce" -l input -d 'How input lines are read' -r -f -a "text\t'One message per line (with --key-separator: key SEP value)'
jsonl\t'One JSON object per line, as `kfk consume -o jsonl` writes them'"
complete -c kfk -n "__fish_kfk_using_subcommand produce" -l property -d 'Kafka console-producer property, e.g. parse.key=true, key.separator=:' -r
complete -c kfk -n "__fish_kfk_using_subcommand produce" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand produce" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand produce" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand produce" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand consume" -l offset -d 'Where to start: start, end, N, +N, -N, @TIMESTAMP, @-5m, or a range A:B, @T1:T2' -r
complete -c kfk -n "__fish_kfk_using_subcommand consume" -s p -l partition -d 'Only this partition' -r
complete -c kfk -n "__fish_kfk_using_subcommand consume" -s n -l max-messages -d 'Exit after this many messages' -r
complete -c kfk -n "__fish_kfk_using_subcommand consume" -s f -l format -d 'Format of each message: %t topic, %p partition, %o offset, %k key, %v value, %T timestamp, %h headers, %K key length, %S value length, \\n, \\t' -r
complete -c kfk -n "__fish_kfk_using_subcommand consume" -l property -d 'Kafka console-consumer property, e.g. print.key=true, key.separator=:' -r
complete -c kfk -n "__fish_kfk_using_subcommand consume" -s g -l group -d 'Consume as a member of this consumer group: read the group\'s share of the partitions, resume at its committed offsets (--offset and --from-beginning then only apply where nothing is committed)' -r
complete -c kfk -n "__fish_kfk_using_subcommand consume" -l commit -d 'With --group: how delivered offsets are committed, every 5 s and on exit (`none` never commits)' -r -f -a "sync\t'Wait for each commit'
async\t'Commit in the background (the last commit, on exit, still waits)'
none\t'Never commit'"
complete -c kfk -n "__fish_kfk_using_subcommand consume" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand consume" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand consume" -l from-beginning -d 'Start at the beginning of each partition (same as --offset start)'
complete -c kfk -n "__fish_kfk_using_subcommand consume" -s e -l exit-at-end -d 'Exit when the end of every partition is reached'
complete -c kfk -n "__fish_kfk_using_subcommand consume" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand consume" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand describe; and not __fish_seen_subcommand_from cluster broker topic help" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand describe; and not __fish_seen_subcommand_from cluster broker topic help" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand describe; and not __fish_seen_subcommand_from cluster broker topic help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand describe; and not __fish_seen_subcommand_from cluster broker topic help" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand describe; and not __fish_seen_subcommand_from cluster broker topic help" -f -a "cluster" -d 'Cluster id, controller and brokers'
complete -c kfk -n "__fish_kfk_using_subcommand describe; and not __fish_seen_subcommand_from cluster broker topic help" -f -a "broker" -d 'One broker: address, rack, leaderships and configs'
complete -c kfk -n "__fish_kfk_using_subcommand describe; and not __fish_seen_subcommand_from cluster broker topic help" -f -a "topic" -d 'One topic (same as `kfk topics describe`)'
complete -c kfk -n "__fish_kfk_using_subcommand describe; and not __fish_seen_subcommand_from cluster broker topic help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kfk -n "__fish_kfk_using_subcommand describe; and __fish_seen_subcommand_from cluster" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand describe; and __fish_seen_subcommand_from cluster" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand describe; and __fish_seen_subcommand_from cluster" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand describe; and __fish_seen_subcommand_from cluster" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand describe; and __fish_seen_subcommand_from broker" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand describe; and __fish_seen_subcommand_from broker" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand describe; and __fish_seen_subcommand_from broker" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand describe; and __fish_seen_subcommand_from broker" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand describe; and __fish_seen_subcommand_from topic" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand describe; and __fish_seen_subcommand_from topic" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand describe; and __fish_seen_subcommand_from topic" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand describe; and __fish_seen_subcommand_from topic" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand describe; and __fish_seen_subcommand_from help" -f -a "cluster" -d 'Cluster id, controller and brokers'
complete -c kfk -n "__fish_kfk_using_subcommand describe; and __fish_seen_subcommand_from help" -f -a "broker" -d 'One broker: address, rack, leaderships and configs'
complete -c kfk -n "__fish_kfk_using_subcommand describe; and __fish_seen_subcommand_from help" -f -a "topic" -d 'One topic (same as `kfk topics describe`)'
complete -c kfk -n "__fish_kfk_using_subcommand describe; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kfk -n "__fish_kfk_using_subcommand groups; and not __fish_seen_subcommand_from list describe reset-offsets delete help" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand groups; and not __fish_seen_subcommand_from list describe reset-offsets delete help" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand groups; and not __fish_seen_subcommand_from list describe reset-offsets delete help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand groups; and not __fish_seen_subcommand_from list describe reset-offsets delete help" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand groups; and not __fish_seen_subcommand_from list describe reset-offsets delete help" -f -a "list" -d 'List the cluster\'s consumer groups with their state'
complete -c kfk -n "__fish_kfk_using_subcommand groups; and not __fish_seen_subcommand_from list describe reset-offsets delete help" -f -a "describe" -d 'A group\'s state and members, and per partition its committed offset, end offset and lag'
complete -c kfk -n "__fish_kfk_using_subcommand groups; and not __fish_seen_subcommand_from list describe reset-offsets delete help" -f -a "reset-offsets" -d 'Move a group\'s committed offsets; a dry run unless --execute (the group must have no active members)'
complete -c kfk -n "__fish_kfk_using_subcommand groups; and not __fish_seen_subcommand_from list describe reset-offsets delete help" -f -a "delete" -d 'Delete groups that have no active members, with their offsets'
complete -c kfk -n "__fish_kfk_using_subcommand groups; and not __fish_seen_subcommand_from list describe reset-offsets delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from list" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from describe" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from describe" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from describe" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from describe" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from reset-offsets" -l topic -d 'Topic to reset, optionally with partitions: `orders` or `orders:0,2` (repeatable)' -r
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from reset-offsets" -l to-offset -d 'To this offset (capped to each partition\'s range)' -r
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from reset-offsets" -l shift-by -d 'Move the committed offsets by N (negative moves back)' -r
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from reset-offsets" -l to-datetime -d 'To the first offset at or after a time: RFC 3339, ms since the epoch, or -5m' -r
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from reset-offsets" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from reset-offsets" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from reset-offsets" -l all-topics -d 'Every topic the group has committed offsets for'
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from reset-offsets" -l to-earliest -d 'To each partition\'s first offset'
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from reset-offsets" -l to-latest -d 'To each partition\'s end offset'
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from reset-offsets" -l execute -d 'Apply the new offsets (without it, only show them)'
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from reset-offsets" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from reset-offsets" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from delete" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from delete" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from delete" -s y -l yes -d 'Do not ask for confirmation'
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the cluster\'s consumer groups with their state'
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from help" -f -a "describe" -d 'A group\'s state and members, and per partition its committed offset, end offset and lag'
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from help" -f -a "reset-offsets" -d 'Move a group\'s committed offsets; a dry run unless --execute (the group must have no active members)'
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete groups that have no active members, with their offsets'
complete -c kfk -n "__fish_kfk_using_subcommand groups; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and not __fish_seen_subcommand_from generate execute verify cancel list elect-leaders help" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and not __fish_seen_subcommand_from generate execute verify cancel list elect-leaders help" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and not __fish_seen_subcommand_from generate execute verify cancel list elect-leaders help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and not __fish_seen_subcommand_from generate execute verify cancel list elect-leaders help" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and not __fish_seen_subcommand_from generate execute verify cancel list elect-leaders help" -f -a "generate" -d 'Print the current assignment of topics and a balanced one over the given brokers, in Kafka\'s reassignment JSON'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and not __fish_seen_subcommand_from generate execute verify cancel list elect-leaders help" -f -a "execute" -d 'Start the moves of a plan, saving the current assignment for rollback, and show progress until every move completed'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and not __fish_seen_subcommand_from generate execute verify cancel list elect-leaders help" -f -a "verify" -d 'Report each partition of a plan as complete or still in progress'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and not __fish_seen_subcommand_from generate execute verify cancel list elect-leaders help" -f -a "cancel" -d 'Cancel the moves of a plan (or, with --all, every move in flight)'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and not __fish_seen_subcommand_from generate execute verify cancel list elect-leaders help" -f -a "list" -d 'Moves in flight: replicas, and those being added and removed'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and not __fish_seen_subcommand_from generate execute verify cancel list elect-leaders help" -f -a "elect-leaders" -d 'Elect leaders: the preferred (first) replica, or with --type unclean any live replica of an offline partition'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and not __fish_seen_subcommand_from generate execute verify cancel list elect-leaders help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from generate" -l topics -d 'Topics to move, comma-separated' -r
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from generate" -l topics-to-move-json-file -d 'Kafka\'s topics-to-move JSON: {"version":1,"topics":[{"topic":"t"}]}' -r -F
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from generate" -l brokers -d 'Brokers to place the replicas on, comma-separated' -r
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from generate" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from generate" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from generate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from generate" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from execute" -s f -l reassignment-json-file -d 'The plan: {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2]}]}' -r -F
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from execute" -l throttle -d 'Limit the copying to new replicas to this many bytes/s per receiving broker (removed when the moves complete, or by `verify`)' -r
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from execute" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from execute" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from execute" -l no-wait -d 'Return once the moves started instead of waiting for them'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from execute" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from execute" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from verify" -s f -l reassignment-json-file -d 'The plan: {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2]}]}' -r -F
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from verify" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from verify" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from verify" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from cancel" -s f -l reassignment-json-file -d 'Cancel the moves of this plan' -r -F
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from cancel" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from cancel" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from cancel" -l all -d 'Cancel every move in flight'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from cancel" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from cancel" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from list" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from elect-leaders" -l topic -d 'Topic whose partitions to elect for' -r
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from elect-leaders" -l partition -d 'Only this partition of --topic' -r
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from elect-leaders" -l type -d 'preferred (default) or unclean' -r -f -a "preferred\t''
unclean\t''"
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from elect-leaders" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from elect-leaders" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from elect-leaders" -l all -d 'Every partition that needs an election'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from elect-leaders" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from elect-leaders" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from help" -f -a "generate" -d 'Print the current assignment of topics and a balanced one over the given brokers, in Kafka\'s reassignment JSON'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from help" -f -a "execute" -d 'Start the moves of a plan, saving the current assignment for rollback, and show progress until every move completed'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Report each partition of a plan as complete or still in progress'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from help" -f -a "cancel" -d 'Cancel the moves of a plan (or, with --all, every move in flight)'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from help" -f -a "list" -d 'Moves in flight: replicas, and those being added and removed'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from help" -f -a "elect-leaders" -d 'Elect leaders: the preferred (first) replica, or with --type unclean any live replica of an offline partition'
complete -c kfk -n "__fish_kfk_using_subcommand reassign; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kfk -n "__fish_kfk_using_subcommand zk-shell" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand zk-shell" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand zk-shell" -s y -l yes -d 'Do not ask before `set` changes a config'
complete -c kfk -n "__fish_kfk_using_subcommand zk-shell" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand zk-shell" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand config; and not __fish_seen_subcommand_from use set unset list help" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand config; and not __fish_seen_subcommand_from use set unset list help" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand config; and not __fish_seen_subcommand_from use set unset list help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand config; and not __fish_seen_subcommand_from use set unset list help" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand config; and not __fish_seen_subcommand_from use set unset list help" -f -a "use" -d 'Make a profile current (created if new)'
complete -c kfk -n "__fish_kfk_using_subcommand config; and not __fish_seen_subcommand_from use set unset list help" -f -a "set" -d 'Set bootstrap or topic in the current profile (or --profile)'
complete -c kfk -n "__fish_kfk_using_subcommand config; and not __fish_seen_subcommand_from use set unset list help" -f -a "unset" -d 'Remove a key from the current profile (or --profile)'
complete -c kfk -n "__fish_kfk_using_subcommand config; and not __fish_seen_subcommand_from use set unset list help" -f -a "list" -d 'Show all profiles'
complete -c kfk -n "__fish_kfk_using_subcommand config; and not __fish_seen_subcommand_from use set unset list help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kfk -n "__fish_kfk_using_subcommand config; and __fish_seen_subcommand_from use" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand config; and __fish_seen_subcommand_from use" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand config; and __fish_seen_subcommand_from use" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand config; and __fish_seen_subcommand_from use" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand config; and __fish_seen_subcommand_from set" -l profile -r
complete -c kfk -n "__fish_kfk_using_subcommand config; and __fish_seen_subcommand_from set" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand config; and __fish_seen_subcommand_from set" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand config; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand config; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand config; and __fish_seen_subcommand_from unset" -l profile -r
complete -c kfk -n "__fish_kfk_using_subcommand config; and __fish_seen_subcommand_from unset" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand config; and __fish_seen_subcommand_from unset" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand config; and __fish_seen_subcommand_from unset" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand config; and __fish_seen_subcommand_from unset" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand config; and __fish_seen_subcommand_from list" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand config; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand config; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand config; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "use" -d 'Make a profile current (created if new)'
complete -c kfk -n "__fish_kfk_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "set" -d 'Set bootstrap or topic in the current profile (or --profile)'
complete -c kfk -n "__fish_kfk_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "unset" -d 'Remove a key from the current profile (or --profile)'
complete -c kfk -n "__fish_kfk_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "list" -d 'Show all profiles'
complete -c kfk -n "__fish_kfk_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kfk -n "__fish_kfk_using_subcommand completion" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand completion" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand completion" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand completion" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand man" -s b -l bootstrap-server -d 'Broker(s) to talk to, host:port[,host:port]. Defaults to the current profile, then the local cluster started by `kfk cluster up`' -r
complete -c kfk -n "__fish_kfk_using_subcommand man" -s o -l output -d 'Output format of listings' -r -f -a "table\t''
json\t''
yaml\t''
jsonl\t'One JSON object per line (consume)'"
complete -c kfk -n "__fish_kfk_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kfk -n "__fish_kfk_using_subcommand man" -s V -l version -d 'Print version'
complete -c kfk -n "__fish_kfk_using_subcommand help; and not __fish_seen_subcommand_from cluster topics produce consume describe groups reassign zk-shell config completion man help" -f -a "cluster" -d 'Start, inspect and stop a local kfkd cluster'
complete -c kfk -n "__fish_kfk_using_subcommand help; and not __fish_seen_subcommand_from cluster topics produce consume describe groups reassign zk-shell config completion man help" -f -a "topics" -d 'Create, list, describe, alter and delete topics'
complete -c kfk -n "__fish_kfk_using_subcommand help; and not __fish_seen_subcommand_from cluster topics produce consume describe groups reassign zk-shell config completion man help" -f -a "produce" -d 'Write messages to a topic, one per input line'
complete -c kfk -n "__fish_kfk_using_subcommand help; and not __fish_seen_subcommand_from cluster topics produce consume describe groups reassign zk-shell config completion man help" -f -a "consume" -d 'Read messages from a topic'
complete -c kfk -n "__fish_kfk_using_subcommand help; and not __fish_seen_subcommand_from cluster topics produce consume describe groups reassign zk-shell config completion man help" -f -a "describe" -d 'Describe the cluster, a broker or a topic'
complete -c kfk -n "__fish_kfk_using_subcommand help; and not __fish_seen_subcommand_from cluster topics produce consume describe groups reassign zk-shell config completion man help" -f -a "groups" -d 'Consumer groups: list, describe (members, offsets, lag), reset offsets, delete'
complete -c kfk -n "__fish_kfk_using_subcommand help; and not __fish_seen_subcommand_from cluster topics produce consume describe groups reassign zk-shell config completion man help" -f -a "reassign" -d 'Move partitions between brokers and elect leaders (Kafka\'s reassignment JSON)'
complete -c kfk -n "__fish_kfk_using_subcommand help; and not __fish_seen_subcommand_from cluster topics produce consume describe groups reassign zk-shell config completion man help" -f -a "zk-shell" -d 'Browse the cluster\'s metadata as ZooKeeper paths (ls /brokers/ids, get /controller)'
complete -c kfk -n "__fish_kfk_using_subcommand help; and not __fish_seen_subcommand_from cluster topics produce consume describe groups reassign zk-shell config completion man help" -f -a "config" -d 'Manage profiles: named targets and default topics'
complete -c kfk -n "__fish_kfk_using_subcommand help; and not __fish_seen_subcommand_from cluster topics produce consume describe groups reassign zk-shell config completion man help" -f -a "completion" -d 'Print a shell completion script'
complete -c kfk -n "__fish_kfk_using_subcommand help; and not __fish_seen_subcommand_from cluster topics produce consume describe groups reassign zk-shell config completion man help" -f -a "man" -d 'Write man pages to a directory (used by install.sh)'
complete -c kfk -n "__fish_kfk_using_subcommand help; and not __fish_seen_subcommand_from cluster topics produce consume describe groups reassign zk-shell config completion man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from cluster" -f -a "up" -d 'Start a local cluster of kfkd processes in the background'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from cluster" -f -a "status" -d 'Show the local cluster\'s brokers, the controller, and partitions that are under-replicated or offline'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from cluster" -f -a "down" -d 'Stop the local cluster (data is kept unless --purge)'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from cluster" -f -a "stop-broker" -d 'Stop one broker of the local cluster (controlled shutdown unless --kill)'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from cluster" -f -a "start-broker" -d 'Start a stopped broker of the local cluster again, with its data'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from topics" -f -a "create" -d 'Create a topic'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from topics" -f -a "list" -d 'List topics'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from topics" -f -a "describe" -d 'Show a topic\'s partitions (leader, replicas, in-sync replicas, offsets) and configs'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from topics" -f -a "delete" -d 'Delete topics'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from topics" -f -a "alter" -d 'Add partitions or change configs of a topic'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from describe" -f -a "cluster" -d 'Cluster id, controller and brokers'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from describe" -f -a "broker" -d 'One broker: address, rack, leaderships and configs'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from describe" -f -a "topic" -d 'One topic (same as `kfk topics describe`)'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from groups" -f -a "list" -d 'List the cluster\'s consumer groups with their state'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from groups" -f -a "describe" -d 'A group\'s state and members, and per partition its committed offset, end offset and lag'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from groups" -f -a "reset-offsets" -d 'Move a group\'s committed offsets; a dry run unless --execute (the group must have no active members)'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from groups" -f -a "delete" -d 'Delete groups that have no active members, with their offsets'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from reassign" -f -a "generate" -d 'Print the current assignment of topics and a balanced one over the given brokers, in Kafka\'s reassignment JSON'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from reassign" -f -a "execute" -d 'Start the moves of a plan, saving the current assignment for rollback, and show progress until every move completed'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from reassign" -f -a "verify" -d 'Report each partition of a plan as complete or still in progress'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from reassign" -f -a "cancel" -d 'Cancel the moves of a plan (or, with --all, every move in flight)'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from reassign" -f -a "list" -d 'Moves in flight: replicas, and those being added and removed'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from reassign" -f -a "elect-leaders" -d 'Elect leaders: the preferred (first) replica, or with --type unclean any live replica of an offline partition'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "use" -d 'Make a profile current (created if new)'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "set" -d 'Set bootstrap or topic in the current profile (or --profile)'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "unset" -d 'Remove a key from the current profile (or --profile)'
complete -c kfk -n "__fish_kfk_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "list" -d 'Show all profiles'
