-- Health of a K8ssandraCluster (status written by k8ssandra-operator or by the
-- k8ssandra-gitops status reporter), for Argo CD: every datacenter of the spec ready.
if obj.status == nil then
  return { status = "Progressing", message = "Waiting for status" }
end
if obj.status.error ~= nil and obj.status.error ~= "" and obj.status.error ~= "None" then
  return { status = "Degraded", message = obj.status.error }
end
local generation = obj.metadata.generation
if generation ~= nil and obj.status.observedGeneration ~= nil and obj.status.observedGeneration < generation then
  return { status = "Progressing", message = "Waiting for generation " .. tostring(generation) .. " to be reconciled" }
end
local function condition(conditions, name)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == name then
      return c
    end
  end
  return nil
end
local dcs = {}
if obj.spec ~= nil and obj.spec.cassandra ~= nil and obj.spec.cassandra.datacenters ~= nil then
  dcs = obj.spec.cassandra.datacenters
end
for _, dc in ipairs(dcs) do
  local name = dc.metadata.name
  local s = nil
  if obj.status.datacenters ~= nil then
    s = obj.status.datacenters[name]
  end
  if s == nil or s.cassandra == nil then
    return { status = "Progressing", message = "Datacenter " .. name .. " has no status yet" }
  end
  local wanted = "Ready"
  if dc.stopped then
    wanted = "Stopped"
  end
  local c = condition(s.cassandra.conditions, wanted)
  if s.cassandra.cassandraOperatorProgress ~= "Ready" or c == nil or c.status ~= "True" then
    return { status = "Progressing", message = "Datacenter " .. name .. " is not ready" }
  end
end
return { status = "Healthy", message = "All datacenters are ready" }
