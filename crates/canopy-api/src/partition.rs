//! Region → partition, so that organizations and ARNs live in the caller's partition.

/// Every partition Canopy knows, commercial `aws` first.
pub const PARTITIONS: [&str; 8] = ["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"];

/// The AWS partition a region belongs to (by its prefix); unknown regions are commercial `aws`,
/// because custom-endpoint users may sign with any region name.
pub fn partition_for_region(region: &str) -> &'static str {
    // Longer prefixes first: `us-isob-` and `us-isof-` also start with `us-iso`.
    const TABLE: &[(&str, &str)] = &[
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-isof-", "aws-iso-f"),
        ("us-iso-", "aws-iso"),
        ("eu-isoe-", "aws-iso-e"),
        ("eusc-", "aws-eusc"),
    ];
    TABLE
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or("aws", |(_, partition)| partition)
}

#[cfg(test)]
mod tests {
    use super::partition_for_region as p;

    #[test]
    fn every_region_prefix_maps_to_a_known_partition() {
        for region in ["us-east-1", "cn-north-1", "us-gov-west-1", "us-isob-east-1", "us-isof-south-1", "us-iso-east-1", "eu-isoe-west-1", "eusc-de-east-1"] {
            assert!(super::PARTITIONS.contains(&p(region)), "{region}");
        }
    }

    #[test]
    fn regions_map_to_partitions() {
        assert_eq!(p("us-east-1"), "aws");
        assert_eq!(p("eu-west-1"), "aws");
        assert_eq!(p("cn-north-1"), "aws-cn");
        assert_eq!(p("cn-northwest-1"), "aws-cn");
        assert_eq!(p("us-gov-west-1"), "aws-us-gov");
        assert_eq!(p("us-iso-east-1"), "aws-iso");
        assert_eq!(p("us-isob-east-1"), "aws-iso-b");
        assert_eq!(p("eu-isoe-west-1"), "aws-iso-e");
        assert_eq!(p("us-isof-south-1"), "aws-iso-f");
        assert_eq!(p("eusc-de-east-1"), "aws-eusc");
        assert_eq!(p(""), "aws");
        assert_eq!(p("local"), "aws");
    }
}
