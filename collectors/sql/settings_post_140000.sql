-- The settings rules read: by category where whole groups matter, by name otherwise.
SELECT name, setting, unit, vartype, context, source, boot_val, reset_val, pending_restart
  FROM pg_settings
 WHERE category IN ('Autovacuum',
                    'Resource Usage / Memory',
                    'Resource Usage / Asynchronous Behavior',
                    'Write-Ahead Log / Settings',
                    'Write-Ahead Log / Checkpoints',
                    'Write-Ahead Log / Archiving',
                    'Replication / Sending Servers',
                    'Replication / Primary Server',
                    'Connections and Authentication / Connection Settings',
                    'Connections and Authentication / Authentication',
                    'Connections and Authentication / SSL',
                    'Reporting and Logging / What to Log',
                    'Reporting and Logging / When to Log',
                    'Statistics / Cumulative Query and Index Statistics',
                    'Query Tuning / Planner Cost Constants',
                    'Client Connection Defaults / Statement Behavior',
                    -- PostgreSQL 18 moved some of the above into new categories:
                    'Resource Usage / I/O',
                    'Resource Usage / Worker Processes',
                    'Connections and Authentication / TCP Settings',
                    'Vacuuming / Freezing',
                    'Vacuuming / Automatic Vacuuming')
    OR name LIKE 'pg\_stat\_statements.%'
    OR name LIKE 'auto\_explain.%'
    OR name LIKE 'track\_%'
    OR name LIKE 'autovacuum%'
    OR name LIKE 'vacuum\_%'
    OR name IN ('shared_preload_libraries', 'session_preload_libraries', 'jit',
                'jit_above_cost', 'server_version_num',
                'data_checksums', 'block_size', 'wal_segment_size', 'fsync',
                'full_page_writes', 'synchronous_commit', 'wal_level', 'max_wal_size',
                'min_wal_size', 'checkpoint_timeout', 'random_page_cost', 'seq_page_cost',
                'effective_io_concurrency', 'effective_cache_size', 'default_statistics_target',
                'max_parallel_workers_per_gather', 'max_worker_processes',
                'max_parallel_workers', 'password_encryption', 'ssl', 'listen_addresses',
                'max_connections', 'superuser_reserved_connections', 'statement_timeout',
                'lock_timeout', 'idle_in_transaction_session_timeout', 'idle_session_timeout',
                'log_min_duration_statement', 'log_autovacuum_min_duration', 'archive_mode',
                'archive_command', 'archive_library', 'archive_timeout', 'hot_standby',
                'max_replication_slots', 'max_slot_wal_keep_size', 'wal_keep_size',
                'huge_pages', 'plan_cache_mode', 'search_path', 'TimeZone')
 ORDER BY name
