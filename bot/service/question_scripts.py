"""The question ledger's Redis scripts (``bot/service/questions.py``), each one atomic step.

Keys, under the namespace: ``<key>`` the dedupe claim of a delivery; ``questions:lease:<key>``
the lease (its value the owning replica); ``questions:posting:<key>`` the mark that its answer
is being posted; ``questions:payload:<key>`` what the platform stored to answer it again, which
expires with the dedupe claim; ``questions:index`` the set of keys with a payload.
"""

# KEYS: claim, lease, payload, index. ARGV: owner, ttl seconds, lease ms, key, payload.
ACCEPT = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
  redis.call('SET', KEYS[3], ARGV[5], 'EX', ARGV[2])
  redis.call('SADD', KEYS[4], ARGV[4])
  return 1
end
return 0
"""
# KEYS: leases. ARGV: owner, lease ms.
RENEW = """
local renewed = 0
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
    renewed = renewed + 1
  end
end
return renewed
"""
# KEYS: lease, posting. ARGV: owner, posting mark seconds, lease ms while posting.
POSTING = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
return 1
"""
# KEYS: index. ARGV: lease prefix, payload prefix. The keys whose lease lapsed; a key whose
# payload expired leaves the index (nobody answers a question that old).
EXPIRED = """
local expired = {}
for i, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[2] .. key) == 0 then
    redis.call('SREM', KEYS[1], key)
  elseif redis.call('EXISTS', ARGV[1] .. key) == 0 then
    table.insert(expired, key)
  end
end
return expired
"""
# KEYS: lease, posting, payload, index. ARGV: owner, key.
FINISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('SREM', KEYS[4], ARGV[2])
return 1
"""
# KEYS: lease, posting, payload. ARGV: owner, lease ms. The payload and whether it was being
# posted, with the lease now this replica's; nil when it is gone or another replica has it.
TAKE = """
local payload = redis.call('GET', KEYS[3])
if not payload then return nil end
if redis.call('EXISTS', KEYS[1]) == 1 then return nil end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local posting = redis.call('EXISTS', KEYS[2])
return {payload, posting}
"""
